package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/reports"
	"github.com/cloudpillar/cloudpillar/reports/htmlreport"
	"github.com/cloudpillar/cloudpillar/reports/junit"
	"github.com/cloudpillar/cloudpillar/scenarios"
)

// simFlags are the overrides `cloudpillar sim` accepts.
type simFlags struct {
	scenario string
	devices  int
	duration time.Duration
	seed     int64
	seedSet  bool
	out      string
	verbose  bool
}

func parseSimFlags(args []string, stderr io.Writer) (simFlags, error) {
	var f simFlags
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&f.devices, "devices", 0, "number of devices (overrides the scenario)")
	fs.DurationVar(&f.duration, "duration", 0, "run duration, e.g. 30s (overrides the scenario)")
	fs.Int64Var(&f.seed, "seed", 0, "random seed (overrides the scenario)")
	fs.StringVar(&f.out, "out", "", "output directory (default out/<timestamp>)")
	fs.BoolVar(&f.verbose, "v", false, "log agent and hub warnings to stderr")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		f.scenario, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return f, fmt.Errorf("%w: sim: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		if f.scenario != "" || fs.NArg() > 1 {
			return f, fmt.Errorf("%w: sim takes at most one scenario file, got %q", errUsage, fs.Args())
		}
		f.scenario = fs.Arg(0)
	}
	fs.Visit(func(fl *flag.Flag) { f.seedSet = f.seedSet || fl.Name == "seed" })
	if f.devices < 0 {
		return f, fmt.Errorf("%w: sim: --devices must be positive, got %d", errUsage, f.devices)
	}
	if f.duration < 0 {
		return f, fmt.Errorf("%w: sim: --duration must be positive, got %v", errUsage, f.duration)
	}
	return f, nil
}

// loadScenario reads the scenario and applies the flag overrides.
func (f simFlags) loadScenario() (*scenarios.Scenario, error) {
	var sc *scenarios.Scenario
	var err error
	if f.scenario == "" {
		sc, err = scenarios.Default()
	} else {
		sc, err = scenarios.Load(f.scenario)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.devices > 0 {
		sc.Devices = f.devices
		sc.Sites = min(sc.Sites, sc.Devices)
	}
	if f.duration > 0 {
		sc.Scale(f.duration)
	}
	if f.seedSet {
		sc.Seed = f.seed
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: scenario after overrides: %v", errUsage, err)
	}
	return sc, nil
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseSimFlags(args, stderr)
	if err != nil {
		return err
	}
	sc, err := f.loadScenario()
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		out = filepath.Join("out", time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	level := slog.LevelError
	if f.verbose {
		level = slog.LevelWarn
	}
	fmt.Fprintf(stdout, "scenario %s: %d devices at %d sites for %v, seed %d\n",
		sc.Name, sc.Devices, sc.Sites, sc.Duration.D(), sc.Seed)
	prog := newProgress(stdout, sc.Devices)
	sum, err := scenarios.Run(ctx, sc, scenarios.Options{
		Progress: prog.update,
		Logger:   slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	prog.finish()
	if err != nil {
		return err
	}
	if err := writeReports(out, sum); err != nil {
		return err
	}
	printSummary(stdout, out, sum)
	if sum.Verdict != reports.VerdictPass {
		return fmt.Errorf("%w: %s", errVerdictFail, strings.Join(sum.Failures, "; "))
	}
	return nil
}

func writeReports(dir string, s *reports.Summary) error {
	return errors.Join(
		reports.WriteJSON(filepath.Join(dir, "summary.json"), s),
		htmlreport.WriteFile(filepath.Join(dir, "report.html"), s),
		junit.WriteFile(filepath.Join(dir, "junit.xml"), junit.FromSummary(s)),
	)
}

func printSummary(w io.Writer, dir string, s *reports.Summary) {
	fmt.Fprintf(w, "\nverdict: %s\n", strings.ToUpper(s.Verdict))
	for _, f := range s.Failures {
		fmt.Fprintf(w, "  failure: %s\n", f)
	}
	fmt.Fprintf(w, "devices connected: %d/%d (all connected after %.1f s), %d provisioned through DPS\n",
		s.Connect.Connected, s.Devices, s.Connect.TimeToAllConnectedSeconds, s.Connect.Provisioned)
	fmt.Fprintf(w, "chaos: %d partitions, %d hub restarts, %d patient cases\n",
		s.Chaos.Partitions, s.Chaos.HubRestarts, s.Chaos.Cases)
	t := s.Telemetry
	fmt.Fprintf(w, "telemetry: sent %d, delivered %d, lost %d, duplicates %d (%.0f msg/s)\n",
		t.Sent, t.Delivered, t.Lost, t.Duplicates, t.MessagesPerSecond)
	fmt.Fprintf(w, "twin: %d/%d desired changes acknowledged, latency p50 %.0f ms, p99 %.0f ms\n",
		s.Twin.Acknowledged, s.Twin.DesiredUpdates, s.Twin.SyncLatencyMs.P50, s.Twin.SyncLatencyMs.P99)
	fmt.Fprintf(w, "resources: peak heap %.1f MiB, peak RSS %.1f MiB, CPU %.1f s\n",
		float64(s.Resources.PeakHeapBytes)/(1<<20), float64(s.Resources.PeakRSSBytes)/(1<<20), s.Resources.CPUSeconds)
	fmt.Fprintf(w, "report: %s\n", filepath.Join(dir, "report.html"))
}
