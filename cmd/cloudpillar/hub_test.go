package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// labBuffer is a bytes.Buffer safe to write from runHub's goroutine while
// the test reads it.
type labBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *labBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *labBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startLabHub runs `cloudpillar hub` on loopback ports with state in dir
// and waits for its hub.json. The returned stop cancels it and checks that
// runHub returned nil.
func startLabHub(t *testing.T, dir string, extra ...string) (info hubInfo, stdout *labBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout = &labBuffer{}
	done := make(chan error, 1)
	args := append([]string{"--state", dir, "--mqtt", "127.0.0.1:0", "--https", "127.0.0.1:0"}, extra...)
	go func() { done <- runHub(ctx, args, stdout, t.Output()) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("runHub = %v, want nil after cancel", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("runHub did not return within 15s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return waitLabHub(t, dir, done), stdout, stop
}

// waitLabHub polls for DIR/hub.json until a deadline, failing early if
// runHub returned.
func waitLabHub(t *testing.T, dir string, done chan error) hubInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if info, err := readHubInfo(dir); err == nil {
			return info
		}
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("runHub returned before writing hub.json: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %s in %s within 20s", hubInfoFile, dir)
	return hubInfo{}
}

// TestHubPKIAgentLab walks the lab path: hub, then pki device, then an
// agent on the written config connects (the hub registered the device
// from DIR/devices/<id>/ by itself).
func TestHubPKIAgentLab(t *testing.T) {
	dir := t.TempDir()
	info, stdout, _ := startLabHub(t, dir)
	checkHubInfo(t, dir, info)
	if !strings.Contains(stdout.String(), "HTTPS     "+info.HTTPSAddress) || !strings.Contains(stdout.String(), "hubAddress: "+info.MQTTAddress) {
		t.Errorf("hub stdout lacks the HTTPS note or the example agent config:\n%s", stdout)
	}

	var out bytes.Buffer
	if err := runPKI(t.Context(), []string{"device", "--id", "lab-1", "--state", dir}, &out, io.Discard); err != nil {
		t.Fatalf("runPKI device = %v", err)
	}
	cfgPath := filepath.Join(dir, devicesDir, "lab-1", agentConfigFile)
	if !strings.Contains(out.String(), cfgPath) {
		t.Errorf("runPKI printed %q, want it to name %s", out.String(), cfgPath)
	}
	checkPerm(t, filepath.Join(dir, devicesDir, "lab-1", deviceKeyFile), 0o600)
	checkPerm(t, filepath.Join(dir, devicesDir, "lab-1", deviceCertFile), 0o644)

	cfg := loadLabAgentConfig(t, cfgPath)
	if cfg.DeviceID != "lab-1" || cfg.Address != info.MQTTAddress || cfg.HostName != "localhost" {
		t.Errorf("agent.yaml = device %q address %q host %q, want lab-1 %s localhost", cfg.DeviceID, cfg.Address, cfg.HostName, info.MQTTAddress)
	}
	runLabAgent(t, cfg)
}

var connStringRE = regexp.MustCompile(`^HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=[A-Za-z0-9+/]{43}=$`)

func checkHubInfo(t *testing.T, dir string, info hubInfo) {
	t.Helper()
	if info.HostName != "localhost" || strings.HasSuffix(info.MQTTAddress, ":0") || strings.HasSuffix(info.HTTPSAddress, ":0") {
		t.Errorf("hub.json = %+v, want host localhost, a bound MQTT port and https 127.0.0.1:0", info)
	}
	if info.CAFile != filepath.Join(dir, testpki.CACertFile) {
		t.Errorf("hub.json caFile = %q, want %q", info.CAFile, filepath.Join(dir, testpki.CACertFile))
	}
	if !connStringRE.MatchString(info.ServiceConnectionString) {
		t.Errorf("hub.json serviceConnectionString = %q, want %v", info.ServiceConnectionString, connStringRE)
	}
	checkPerm(t, filepath.Join(dir, serviceKeyFile), 0o600)
	checkPerm(t, filepath.Join(dir, hubInfoFile), 0o600) // holds the service key too
}

func checkPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s mode = %v, want %v", path, got, want)
	}
}

// TestHubRegisterFlagAndRestart: --register admits a device that has no
// files in the state dir, and a restart on the same dir keeps the CA and
// the service key.
func TestHubRegisterFlagAndRestart(t *testing.T) {
	dir := t.TempDir()
	first, _, stop := startLabHub(t, dir, "--register", "reg-a, reg-b")
	ca, err := testpki.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueDeviceTLS("reg-b")
	if err != nil {
		t.Fatal(err)
	}
	caPEM := labReadFile(t, first.CAFile)
	runLabAgent(t, labHubConfig(t, first, "reg-b", cert))
	stop()

	if err := os.Remove(filepath.Join(dir, hubInfoFile)); err != nil {
		t.Fatal(err)
	}
	second, _, _ := startLabHub(t, dir)
	if second.ServiceConnectionString != first.ServiceConnectionString {
		t.Errorf("service connection string changed across restarts: %q then %q", first.ServiceConnectionString, second.ServiceConnectionString)
	}
	if !bytes.Equal(labReadFile(t, second.CAFile), caPEM) {
		t.Errorf("CA certificate changed across restarts")
	}
}

func TestRunHubUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown flag", []string{"--port", "1"}, "hub: flag provided but not defined: -port"},
		{"extra argument", []string{"extra"}, `hub: unexpected argument "extra"`},
		{"bad --register id", []string{"--register", "ok,not ok"}, `hub: --register: device id "not ok"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runHub(t.Context(), tc.args, io.Discard, io.Discard)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("runHub(%q) = %v, want errUsage containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestRunHubListenError(t *testing.T) {
	err := runHub(t.Context(), []string{"--state", t.TempDir(), "--mqtt", "127.0.0.1:not-a-port"}, io.Discard, io.Discard)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "hub mqtt listener") {
		t.Fatalf("runHub with a bad --mqtt = %v, want a runtime listener error", err)
	}
}

func labReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// labHubConfig is the agent's hub settings for device id on the hub info
// describes.
func labHubConfig(t testing.TB, info hubInfo, id string, cert tls.Certificate) hub.Config {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(labReadFile(t, info.CAFile)) {
		t.Fatalf("%s: no certificates", info.CAFile)
	}
	return hub.Config{DeviceID: id, HostName: info.HostName, Address: info.agentAddress(), RootCAs: roots, Certificate: cert}
}
