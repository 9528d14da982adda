package hostlink

import (
	"context"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// socketPath returns a short socket path in a fresh directory (t.TempDir
// can be longer than the 107-byte limit on some systems).
func socketPath(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the unix transport is tested on Unix; Windows uses loopback TCP")
	}
	dir, err := os.MkdirTemp("", "hl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", "hostlink.sock") // "run" is created by New
}

func TestUnixSocketServesTheAPI(t *testing.T) {
	path := socketPath(t)
	tl := startLink(t, Config{Network: NetworkUnix, Address: path})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != socketMode {
		t.Fatalf("socket mode = %v, want a socket with mode %04o", fi.Mode(), socketMode)
	}
	tl.mustDo(t, http.MethodPost, PathCaseStart, `{"caseId":"c"}`, http.StatusOK)
	tl.mustDo(t, http.MethodPost, PathHeartbeat, `{"status":"fault","metrics":{"errors":3}}`, http.StatusNoContent)
	if got, m := tl.CaseState(), tl.Metrics(); got != device.CaseLive || m[MetricHostStatus] != StatusFault {
		t.Fatalf("over unix: CaseState = %v, Metrics = %v", got, m)
	}
	if code, _ := tl.do(t, http.MethodGet, PathStatus, "wrong-token-wrong-token", ""); code != http.StatusUnauthorized {
		t.Fatalf("wrong token over unix = %d, want 401", code)
	}
}

func TestUnixSocketRemovedOnClose(t *testing.T) {
	path := socketPath(t)
	l, err := New(Config{Network: NetworkUnix, Address: path, TokenFile: writeToken(t, testToken, 0o600)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve after cancel = %v, want nil", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file after Close: %v, want it removed", err)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	path := socketPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close() // the file stays, as after a crash
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	tl := startLink(t, Config{Network: NetworkUnix, Address: path})
	tl.mustDo(t, http.MethodGet, PathStatus, "", http.StatusOK)
}

func TestLiveSocketIsNotTakenOver(t *testing.T) {
	path := socketPath(t)
	first := startLink(t, Config{Network: NetworkUnix, Address: path})
	_, err := New(Config{Network: NetworkUnix, Address: path, TokenFile: writeToken(t, testToken, 0o600)})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second New on a live socket = %v, want 'in use by another process'", err)
	}
	first.mustDo(t, http.MethodGet, PathStatus, "", http.StatusOK)
}

func TestNonSocketFileIsNotRemoved(t *testing.T) {
	path := socketPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Network: NetworkUnix, Address: path, TokenFile: writeToken(t, testToken, 0o600)})
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("New over a regular file = %v, want 'is not a socket'", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatalf("the regular file was touched: %q", b)
	}
}
