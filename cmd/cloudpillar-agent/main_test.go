package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim"
)

// lockedBuffer is a bytes.Buffer safe for the agent's concurrent logging.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no flags", nil, "--config FILE is required"},
		{"unknown flag", []string{"--conf", "x.yaml"}, "flag provided but not defined: -conf"},
		{"extra argument", []string{"--config", "x.yaml", "extra"}, `unexpected argument "extra"`},
		{"config missing", []string{"--config", filepath.Join(t.TempDir(), "x.yaml")}, "x.yaml: no such file"},
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

func TestRunHelpIsNotAnError(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, io.Discard, &stderr); err != nil {
		t.Fatalf("run(-h) = %v, want nil", err)
	}
	if !strings.Contains(stderr.String(), "usage: cloudpillar-agent --config FILE") {
		t.Errorf("run(-h) printed %q, want the usage line", stderr.String())
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

// TestRunConnectsToHub runs the binary's run() against a real hubsim hub on
// loopback: the agent connects, and cancelling ctx stops it cleanly.
func TestRunConnectsToHub(t *testing.T) {
	dir := t.TempDir()
	ca := writePKI(t, dir)
	h, err := hubsim.New(hubsim.Config{CA: ca, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	if err := h.CreateDevice("dev-1"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.yaml")
	body := strings.Replace(validYAML, "hub.example", h.HostName(), 1) +
		"hubAddress: " + h.MQTTAddr() + "\nlogFormat: text\nlogLevel: debug\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path}, io.Discard, &stderr) }()

	waitConnected(t, h, "dev-1", 30*time.Second)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want nil after cancel; logs:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not return within 15s of cancel; logs:\n%s", stderr.String())
	}
	if logs := stderr.String(); !strings.Contains(logs, "msg=stopped") {
		t.Errorf("logs do not say the agent stopped:\n%s", logs)
	}
}

func waitConnected(t *testing.T, h *hubsim.Hub, id string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if d, err := h.Registry().Get(id); err == nil && d.Connected {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("device %s not connected within %v", id, timeout)
}
