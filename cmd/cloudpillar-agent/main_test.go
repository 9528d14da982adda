package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
)

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, validYAML+"telemetryIntervalSeconds: fast\n")
	good := filepath.Join(dir, "agent.yaml")
	writeFile(t, good, validYAML)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no flags", nil, "--config FILE is required"},
		{"unknown flag", []string{"--conf", "x.yaml"}, "flag provided but not defined: -conf"},
		{"extra argument", []string{"--config", "x.yaml", "extra"}, `unexpected argument "extra"`},
		{"config missing", []string{"--config", filepath.Join(dir, "x.yaml")}, "x.yaml: no such file"},
		{"config invalid", []string{"--config", bad}, bad + `:6: telemetryIntervalSeconds: must be an integer between 1 and 86400, got "fast"`},
		{"check-config invalid", []string{"--config", bad, "--check-config"}, bad + ":6: telemetryIntervalSeconds:"},
		{"--health not loopback", []string{"--config", good, "--health", "0.0.0.0:1"}, `--health: healthAddress: "0.0.0.0:1" is not a loopback address`},
		{"version with argument", []string{"version", "extra"}, `version: unexpected argument "extra"`},
		{"install without config", []string{"install"}, "install: --config FILE is required"},
		{"install with bad config", []string{"install", "--config", bad}, bad + ":6: telemetryIntervalSeconds:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run(%q) = %v, want error containing %q", tc.args, err, tc.wantErr)
			}
			if code := exitCode(err, io.Discard); code != 2 {
				t.Errorf("exitCode(%v) = %d, want 2", err, code)
			}
		})
	}
}

// TestRunInstallOffWindows: the service subcommands point Linux users to
// the systemd unit instead.
func TestRunInstallOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("install really installs on Windows")
	}
	dir := t.TempDir()
	writePKI(t, dir)
	path := filepath.Join(dir, "agent.yaml")
	writeFile(t, path, validYAML)
	for _, args := range [][]string{{"install", "--config", path}, {"uninstall"}} {
		err := run(t.Context(), args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "packaging/systemd") || exitCode(err, io.Discard) != 2 {
			t.Errorf("run(%q) = %v, want a usage error pointing to packaging/systemd", args, err)
		}
	}
}

func TestRunHelpIsNotAnError(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, io.Discard, &stderr); err != nil {
		t.Fatalf("run(-h) = %v, want nil", err)
	}
	for _, want := range []string{"usage: cloudpillar-agent --config FILE", "--check-config", "-health ADDR", "cloudpillar-agent version"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("run(-h) printed %q, want it to contain %q", stderr.String(), want)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("connection refused"), 1},
		{usageError{errors.New("bad flag")}, 2},
		{fmt.Errorf("wrapped: %w", usageError{errors.New("bad flag")}), 2},
	}
	for _, tc := range tests {
		if got := exitCode(tc.err, io.Discard); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestRunCheckConfig(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	path := filepath.Join(dir, "agent.yaml")
	writeFile(t, path, validYAML+"storePath: data/agent.db\n")
	var stdout bytes.Buffer
	err := run(t.Context(), []string{"--config", path, "--check-config", "--health", ""}, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("run --check-config = %v, want nil", err)
	}
	for _, want := range []string{path + ": OK", "device       dev-1", "hub          hub.example (dial hub.example:8883)",
		"subject CN=dev-1", "expires", "(in ", "store        " + filepath.Join(dir, "data", "agent.db"), "health       disabled"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary does not contain %q:\n%s", want, stdout.String())
		}
	}
}

// TestCheckConfigRefusesExpiredCertificate: --check-config fails with the
// certFile line once the certificate has expired (or is not yet valid).
func TestCheckConfigRefusesExpiredCertificate(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	cfg, err := loadYAML(t, dir, validYAML, overrides{})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cfg.Hub.Certificate.Leaf
	for name, now := range map[string]time.Time{"expired": leaf.NotAfter.Add(time.Hour), "not yet valid": leaf.NotBefore.Add(-time.Hour)} {
		err := checkConfig(io.Discard, cfg, now)
		want := filepath.Join(dir, "agent.yaml") + ":3: certFile: the certificate "
		if err == nil || !strings.HasPrefix(err.Error(), want) || exitCode(err, io.Discard) != 2 {
			t.Errorf("%s: checkConfig = %v, want a usage error starting %q", name, err, want)
		}
	}
}

func TestRunVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout bytes.Buffer
		if err := run(t.Context(), args, &stdout, io.Discard); err != nil {
			t.Fatalf("run(%q) = %v", args, err)
		}
		for _, want := range []string{"cloudpillar-agent  " + agent.Version, "\nrevision ", " " + runtime.Version() + "\n", " " + runtime.GOOS + "/" + runtime.GOARCH} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("run(%q) printed %q, want it to contain %q", args, stdout.String(), want)
			}
		}
	}
}

func TestWriteVersion(t *testing.T) {
	tests := []struct {
		name string
		in   buildVersion
		want string
	}{
		{"release", buildVersion{Agent: "1.2.3", Module: "github.com/cloudpillar/cloudpillar", ModVer: "v1.2.3",
			Revision: "abc123", Time: "2026-01-02T03:04:05Z", Go: "go1.26.8", OS: "windows", Arch: "amd64"},
			"cloudpillar-agent  1.2.3\nmodule             github.com/cloudpillar/cloudpillar v1.2.3\n" +
				"revision           abc123 2026-01-02T03:04:05Z\ngo                 go1.26.8\nplatform           windows/amd64\n"},
		{"dirty tree", buildVersion{Agent: "dev", Revision: "abc123", Modified: true, Go: "go1.26.8", OS: "linux", Arch: "arm64"},
			"cloudpillar-agent  dev\nrevision           abc123 (modified)\ngo                 go1.26.8\nplatform           linux/arm64\n"},
		{"no vcs", buildVersion{Agent: "dev", Go: "go1.26.8", OS: "linux", Arch: "amd64"},
			"cloudpillar-agent  dev\nrevision           unknown (built without VCS information)\ngo                 go1.26.8\nplatform           linux/amd64\n"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := writeVersion(&b, tc.in); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s: writeVersion =\n%s\nwant\n%s", tc.name, b.String(), tc.want)
		}
	}
}
