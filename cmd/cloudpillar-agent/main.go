// Command cloudpillar-agent is the shipped Cloud Pillar device agent: it
// reads a YAML config file, connects to Azure IoT Hub (or a lab hub started
// with `cloudpillar hub`) with the device's X.509 certificate, and runs the
// agent until SIGINT or SIGTERM.
//
//	cloudpillar-agent --config FILE
//
// Config fields: hubHostName, hubAddress (host:port, default
// hubHostName:8883), caFile, certFile, keyFile, deviceId (must equal the
// certificate's subject CN), telemetryIntervalSeconds (default 10),
// logLevel (debug|info|warn|error, default info) and logFormat (text|json,
// default json). Relative file paths are resolved against the config
// file's directory. Unknown fields are rejected.
//
// Exit codes: 0 after a clean stop, 1 on a runtime error, 2 on a usage or
// config error. Logs are structured (log/slog) and go to stderr.
//
// This binary imports only agent/..., the standard library and the YAML
// decoder; the dependency test in the repository root enforces it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudpillar/cloudpillar/agent"
)

// usageError marks a mistake in how the agent was invoked or configured
// (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on stderr and maps it to the process exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "cloudpillar-agent:", err)
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// run parses args, loads the config and runs the agent until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	path, err := parseFlags(args, stderr)
	if err != nil || path == "" {
		return err
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return usageError{err}
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	a, err := agent.New(agent.Config{
		Hub:               cfg.Hub,
		TelemetryInterval: cfg.TelemetryInterval,
		Logger:            log,
	})
	if err != nil {
		return usageError{err}
	}
	log.Info("starting", "device", cfg.Hub.DeviceID, "hub", cfg.Hub.HostName,
		"address", cfg.Hub.Address, "telemetryInterval", cfg.TelemetryInterval.String())
	if err := a.Run(ctx); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	log.Info("stopped", "device", cfg.Hub.DeviceID)
	return nil
}

// parseFlags returns the config path; an empty path with a nil error
// means help was printed.
func parseFlags(args []string, stderr io.Writer) (string, error) {
	fs := flag.NewFlagSet("cloudpillar-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "agent config `FILE` (YAML; required)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cloudpillar-agent --config FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil
		}
		return "", usageError{err}
	}
	if fs.NArg() > 0 {
		return "", usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *path == "" {
		return "", usageError{errors.New("--config FILE is required")}
	}
	return *path, nil
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
