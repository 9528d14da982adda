package hostlink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

const testToken = "0123456789abcdef0123456789abcdef"

// TestMain fails the package if any server or client goroutine outlives
// the tests (STYLE.md guideline 4).
func TestMain(m *testing.M) {
	leakcheck.Main(m, 5*time.Second, func(g string) bool {
		return strings.Contains(g, "hostlink.") || strings.Contains(g, "net/http.(*conn)") ||
			strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*Server)")
	})
}

// newFakeClock is a hand-moved clock at a fixed start.
func newFakeClock() *testclock.Clock {
	return testclock.New(time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC))
}

// writeToken writes a token file with mode perm in a fresh directory.
func writeToken(t testing.TB, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hostlink.token")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return path
}

// testLink is a Link serving in the background with a client that talks
// to it.
type testLink struct {
	*Link
	client *http.Client
	base   string // URL prefix
}

// startLink makes and serves a Link; cfg's TokenFile defaults to a file
// holding testToken and its Network to TCP on a free loopback port. The
// link is closed, and Serve checked to return nil, when the test ends.
func startLink(t testing.TB, cfg Config) *testLink {
	t.Helper()
	if cfg.TokenFile == "" {
		cfg.TokenFile = writeToken(t, testToken+"\n", 0o600)
	}
	if cfg.Network == "" {
		cfg.Network, cfg.Address = NetworkTCP, "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve(context.Background()) }()
	tl := &testLink{Link: l, client: clientFor(l), base: "http://" + l.Addr()}
	if cfg.Network == NetworkUnix {
		tl.base = "http://hostlink"
	}
	t.Cleanup(func() {
		tl.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	})
	return tl
}

// clientFor dials the link's socket whatever the URL says.
func clientFor(l *Link) *http.Client {
	network, addr := "tcp", l.Addr()
	if l.Network() == NetworkUnix {
		network = "unix"
	}
	var d net.Dialer
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		},
	}
}

// do sends one request with the given bearer token ("" = none) and returns
// the status code and body.
func (tl *testLink) do(t testing.TB, method, path, token, body string) (int, string) {
	t.Helper()
	code, got, err := tl.send(method, path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, got
}

// send is do for goroutines other than the test's.
func (tl *testLink) send(method, path, token, body string) (int, string, error) {
	req, err := http.NewRequest(method, tl.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := tl.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return resp.StatusCode, string(b), nil
}

// mustDo is do with the right token, failing unless the answer is want.
func (tl *testLink) mustDo(t testing.TB, method, path, body string, want int) string {
	t.Helper()
	code, got := tl.do(t, method, path, testToken, body)
	if code != want {
		t.Fatalf("%s %s %s = %d %s, want %d", method, path, body, code, got, want)
	}
	return got
}

// status fetches GET /v1/status.
func (tl *testLink) status(t testing.TB) Status {
	t.Helper()
	var st Status
	if err := json.Unmarshal([]byte(tl.mustDo(t, http.MethodGet, PathStatus, "", http.StatusOK)), &st); err != nil {
		t.Fatalf("status body: %v", err)
	}
	return st
}

// errorText decodes a JSON error body.
func errorText(t testing.TB, body string) string {
	t.Helper()
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == "" {
		t.Fatalf("error body %q is not {\"error\": ...}: %v", body, err)
	}
	return e.Error
}
