package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports"
)

func TestSimUsageErrorsExitWithCode2AndNameTheProblem(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("devices: 3\nduration: 10s\nevents:\n  - at: 1s\n    partition: site-07\n    for: 1s\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"sim", "--devcies", "3"}, "devcies"},
		{"bad duration", []string{"sim", "--duration", "soon"}, "duration"},
		{"negative devices", []string{"sim", "--devices", "-1"}, "--devices"},
		{"missing file", []string{"sim", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"malformed scenario", []string{"sim", bad}, `events[0].partition: unknown site "site-07"`},
		{"two scenarios", []string{"sim", bad, bad}, "at most one scenario"},
		{"unknown command", []string{"simulate"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			if code := exitCode(err, &errOut); code != 2 {
				t.Fatalf("exit code %d (err %v), want 2", code, err)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("stderr %q does not mention %q", errOut.String(), tc.want)
			}
		})
	}
}

func TestSimWritesSummaryReportAndJUnit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a fleet")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"sim", "--devices", "4", "--duration", "4s", "--seed", "5", "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("sim: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	sum, err := reports.ReadJSON(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Devices != 4 || sum.Seed != 5 || sum.Connect.Connected != 4 || sum.Telemetry.Lost != 0 || sum.Verdict != reports.VerdictPass {
		t.Fatalf("summary = %+v", sum)
	}
	for _, f := range []string{"report.html", "junit.xml"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if !strings.Contains(stdout.String(), "verdict: PASS") {
		t.Fatalf("stdout = %s", stdout.String())
	}
}

func TestReportRerendersFromSummaryAndRejectsCorruptSummaries(t *testing.T) {
	dir := t.TempDir()
	sum := &reports.Summary{Scenario: "x", Devices: 1, Verdict: reports.VerdictPass}
	if err := reports.WriteJSON(filepath.Join(dir, "summary.json"), sum); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"report", dir}, &out, &errOut); err != nil {
		t.Fatalf("report: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"verdict":"maybe"}`), 0o644)
	err := run(context.Background(), []string{"report", dir}, &out, &errOut)
	if exitCode(err, &errOut) != 2 || !strings.Contains(errOut.String(), "maybe") {
		t.Fatalf("corrupt summary: err %v, stderr %q", err, errOut.String())
	}
}
