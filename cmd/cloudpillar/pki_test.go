package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/hub"
)

func TestValidateDeviceID(t *testing.T) {
	tests := []struct {
		id      string
		wantErr string // "" = valid
	}{
		{"carto-0001", ""},
		{"A.b_c%d*e?f!g(h),i:j=k@l$m'n", ""},
		{strings.Repeat("x", 128), ""},
		{"", "device id is empty"},
		{strings.Repeat("x", 129), "129 characters long"},
		{".", `device id "." is not allowed`},
		{"..", `device id ".." is not allowed`},
		{"a/b", `character '/' is not allowed`},
		{"a b", `character ' ' is not allowed`},
		{"caf\u00e9", `character 'é' is not allowed`},
		{"a#b", `character '#' is not allowed`},
	}
	for _, tc := range tests {
		err := validateDeviceID(tc.id)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("validateDeviceID(%q) = %v, want nil", tc.id, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("validateDeviceID(%q) = %v, want error containing %q", tc.id, err, tc.wantErr)
		}
	}
}

func TestHubInfoAgentAddress(t *testing.T) {
	tests := []struct{ mqtt, want string }{
		{"127.0.0.1:8883", "127.0.0.1:8883"},
		{"0.0.0.0:8883", "lab.example:8883"},
		{"[::]:8883", "lab.example:8883"},
		{":8883", "lab.example:8883"},
		{"hub.lan:8883", "hub.lan:8883"},
	}
	for _, tc := range tests {
		info := hubInfo{HostName: "lab.example", MQTTAddress: tc.mqtt}
		if got := info.agentAddress(); got != tc.want {
			t.Errorf("hubInfo{MQTTAddress: %q}.agentAddress() = %q, want %q", tc.mqtt, got, tc.want)
		}
	}
}

func TestRunPKIUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no subcommand", nil, "pki: missing subcommand"},
		{"unknown subcommand", []string{"ca"}, `pki: unknown subcommand "ca"`},
		{"missing --id", []string{"device", "--state", dir}, "pki device: --id is required"},
		{"bad --id", []string{"device", "--id", "a/b", "--state", dir}, `pki device: --id: device id "a/b"`},
		{"unknown flag", []string{"device", "--id", "x", "--dir", dir}, "flag provided but not defined: -dir"},
		{"extra argument", []string{"device", "--id", "x", "extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runPKI(t.Context(), tc.args, io.Discard, io.Discard)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("runPKI(%q) = %v, want errUsage containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestRunPKIWithoutHub(t *testing.T) {
	dir := t.TempDir()
	err := runPKI(t.Context(), []string{"device", "--id", "dev-1", "--state", dir}, io.Discard, io.Discard)
	want := "no CA in " + dir + ": run `cloudpillar hub --state " + dir + "` first"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("runPKI in an empty dir = %v, want %q", err, want)
	}
	if errors.Is(err, errUsage) {
		t.Errorf("runPKI in an empty dir returned a usage error: %v", err)
	}
}

func TestRunPKIHelp(t *testing.T) {
	var out bytes.Buffer
	if err := runPKI(t.Context(), []string{"device", "-h"}, io.Discard, &out); err != nil {
		t.Fatalf("runPKI(device -h) = %v, want nil", err)
	}
	if !strings.Contains(out.String(), "-id ID") {
		t.Errorf("runPKI(device -h) printed %q, want the flag list", out.String())
	}
}

// loadLabAgentConfig reads an agent.yaml written by `pki device` the way
// cloudpillar-agent does (unknown fields refused) and builds a hub.Config.
func loadLabAgentConfig(t testing.TB, path string) hub.Config {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f agentFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	caPEM, err := os.ReadFile(f.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("caFile %s: no certificates", f.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return hub.Config{DeviceID: f.DeviceID, HostName: f.HubHostName, Address: f.HubAddress, RootCAs: roots, Certificate: cert}
}

// runLabAgent starts an agent on cfg and waits until it is connected; the
// agent stops at test cleanup.
func runLabAgent(t *testing.T, cfg hub.Config) {
	t.Helper()
	// The hub registers lab devices every 2 s, so the first dial may be
	// refused; a short floor keeps the test from waiting the real 60 s.
	a, err := agent.New(agent.Config{Hub: cfg, AuthRetryFloor: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	deadline := time.Now().Add(30 * time.Second)
	for !a.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatalf("agent %s not connected to %s within 30s", cfg.DeviceID, cfg.Address)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
