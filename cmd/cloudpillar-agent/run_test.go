package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device/hostlink"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestMain fails the package when a goroutine started by this binary's
// code or the agent outlives the tests (STYLE.md guideline 4).
func TestMain(m *testing.M) {
	leakcheck.Main(m, 10*time.Second, func(g string) bool {
		return strings.Contains(g, "/cmd/cloudpillar-agent/") || strings.Contains(g, "cloudpillar/cloudpillar/agent")
	})
}

// writeDevice registers id in h and writes its certificate, key and the
// hub's CA as PEM files into dir (cert.pem, key.pem, ca.pem).
func writeDevice(t testing.TB, h *hubsim.Hub, dir, id string) {
	t.Helper()
	if err := h.CreateDevice(id); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := h.IssueDeviceCert(id)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), string(certPEM))
	writeFile(t, filepath.Join(dir, "key.pem"), string(keyPEM))
	writeFile(t, filepath.Join(dir, "ca.pem"), string(h.CA().CertPEM))
	writeFile(t, filepath.Join(dir, "token"), "0123456789abcdef0123456789abcdef\n")
}

// logRecord finds the first complete JSON record with msg in the log file.
func logRecord(path, msg string) map[string]any {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

func waitLogRecord(t testing.TB, path, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	var rec map[string]any
	hubtest.Eventually(t, timeout, func() bool { rec = logRecord(path, msg); return rec != nil },
		"no %q record in %s", msg, path)
	return rec
}

// listenNotify is a stand-in for systemd's notification socket.
func listenNotify(t testing.TB) (*net.UnixConn, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cpn") // short: socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Skipf("no unixgram sockets here: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, path
}

func readNotify(t testing.TB, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

// TestRunServesHealthAndStops runs the binary's run() against a real
// hubsim hub on loopback, with a log file, the health endpoint, the host
// link and a systemd notification socket: /healthz reports connected,
// the host link answers, and cancelling stops everything and logs
// "stopped" with the counters (issue 4 item 6).
func TestRunServesHealthAndStops(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	writeDevice(t, h, dir, "dev-1")
	logPath := filepath.Join(dir, "logs", "agent.log")
	body := strings.Replace(validYAML, "hub.example", h.HostName(), 1) + "hubAddress: " + h.MQTTAddr() + `
storePath: state/agent.db
telemetryIntervalSeconds: 1
logLevel: debug
logFile: logs/agent.log
healthAddress: 127.0.0.1:0
hostLink:
  address: 127.0.0.1:0
  tokenFile: token
`
	path := filepath.Join(dir, "agent.yaml")
	writeFile(t, path, body)
	notify, notifyPath := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", notifyPath)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr bytes.Buffer // only written before the log file opens
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path}, io.Discard, &stderr) }()

	started := waitLogRecord(t, logPath, "started", 30*time.Second)
	if got := readNotify(t, notify); got != "READY=1\nSTATUS=running" {
		t.Errorf("notification = %q, want READY=1", got)
	}
	healthURL := "http://" + started["health"].(string) + healthPath
	var rep healthReport
	hubtest.Eventually(t, 30*time.Second, func() bool {
		code, r, _ := getHealth(t, http.MethodGet, healthURL)
		rep = r
		return code == 200 && r.Connected && r.LastDelivered != nil
	}, "/healthz never reported connected with a delivery; last %+v", rep)
	if rep.Status != "ok" || rep.IdentityExpiresInSeconds == nil || *rep.IdentityExpiresInSeconds <= 0 || rep.Version == "" {
		t.Errorf("/healthz = %+v, want status ok, a future identity expiry and a version", rep)
	}
	checkHostLink(t, started["hostLink"].(string), filepath.Join(dir, "token"))

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want nil after cancel; stderr %s", err, stderr.String())
		}
	case <-time.After(stopTimeout + 5*time.Second):
		t.Fatalf("run did not return within %v of cancel", stopTimeout+5*time.Second)
	}
	if got := readNotify(t, notify); got != "STOPPING=1" {
		t.Errorf("notification = %q, want STOPPING=1", got)
	}
	stopped := logRecord(logPath, "stopped")
	if stopped == nil || stopped["delivered"].(float64) < 1 || stopped["connects"].(float64) < 1 {
		t.Errorf("stopped record = %v, want counters with deliveries and connects", stopped)
	}
	if resp, err := http.Get(healthURL); err == nil {
		resp.Body.Close()
		t.Error("health endpoint still answers after run returned")
	}
	checkStoreReleased(t, filepath.Join(dir, "state", "agent.db"))
}

// checkStoreReleased opens the agent's store: bbolt locks the file, so this
// fails if the stopped agent had not closed it.
func checkStoreReleased(t testing.TB, path string) {
	t.Helper()
	st, db, err := outbox.OpenFile(path, "check", outbox.Limits{}, slog.New(slog.DiscardHandler), outbox.WithOpenTimeout(2*time.Second))
	if err != nil {
		t.Fatalf("store %s after stop: %v", path, err)
	}
	st.Close()
	db.Close()
}

// checkHostLink asks the host link for its status with the token.
func checkHostLink(t testing.TB, link, tokenFile string) {
	t.Helper()
	addr, ok := strings.CutPrefix(link, hostlink.NetworkTCP+":")
	if !ok {
		t.Fatalf("hostLink = %q, want tcp:ADDR", link)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+hostlink.PathStatus, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(readFile(t, tokenFile)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("host link status: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("host link status = %s, want 200", resp.Status)
	}
}

// TestRunStartFailure: a health port already in use fails the start with
// a runtime error (exit 1), leaves nothing running and logs why.
func TestRunStartFailure(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	path := filepath.Join(dir, "agent.yaml")
	writeFile(t, path, validYAML+"storePath: agent.db\nlogFormat: text\nhostLink:\n  address: 127.0.0.1:0\n  tokenFile: token\n")
	var stderr bytes.Buffer
	err = run(t.Context(), []string{"--config", path, "--health", busy.Addr().String()}, io.Discard, &stderr)
	if err == nil || exitCode(err, io.Discard) != 1 || !strings.Contains(err.Error(), "health endpoint") {
		t.Fatalf("run = %v, want a runtime error about the health endpoint", err)
	}
	if !strings.Contains(stderr.String(), "msg=\"start failed\"") {
		t.Errorf("logs do not say the start failed:\n%s", stderr.String())
	}
}

func TestSDNotify(t *testing.T) {
	if err := sdNotify("", "READY=1"); err != nil {
		t.Errorf("sdNotify without a socket = %v, want nil", err)
	}
	conn, path := listenNotify(t)
	if err := sdNotify(path, "READY=1"); err != nil {
		t.Fatal(err)
	}
	if got := readNotify(t, conn); got != "READY=1" {
		t.Errorf("received %q, want READY=1", got)
	}
	if err := sdNotify(path+".absent", "READY=1"); err == nil {
		t.Error("sdNotify to a missing socket = nil, want an error")
	}
}
