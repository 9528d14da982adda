package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestDownTracker(t *testing.T) {
	type sample struct {
		at        time.Duration // after t0
		connected bool
		connects  int64
		wantDown  time.Duration
	}
	tests := []struct {
		name    string
		samples []sample
	}{
		{"never connected counts from start", []sample{{time.Minute, false, 0, time.Minute}, {6 * time.Minute, false, 0, 6 * time.Minute}}},
		{"connected is zero", []sample{{time.Minute, true, 1, 0}, {2 * time.Minute, true, 1, 0}}},
		{"drop counts from the first sample that sees it", []sample{{time.Minute, true, 1, 0}, {2 * time.Minute, false, 1, 0}, {5 * time.Minute, false, 1, 3 * time.Minute}}},
		{"reconnect and drop between samples restarts", []sample{{time.Minute, false, 0, time.Minute}, {10 * time.Minute, false, 1, 0}, {11 * time.Minute, false, 1, time.Minute}}},
		{"recovery resets", []sample{{10 * time.Minute, false, 0, 10 * time.Minute}, {11 * time.Minute, true, 1, 0}, {12 * time.Minute, false, 1, 0}}},
	}
	for _, tc := range tests {
		tr := newDownTracker(t0)
		for i, s := range tc.samples {
			got := tr.observe(agent.Stats{Connected: s.connected, Connects: s.connects}, t0.Add(s.at))
			if got != s.wantDown {
				t.Errorf("%s: sample %d: observe = %v, want %v", tc.name, i, got, s.wantDown)
			}
		}
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name       string
		connected  bool
		pending    int
		down       time.Duration
		wantStatus string
		wantCode   int
	}{
		{"connected, queue empty", true, 0, 0, "ok", 200},
		{"connected, small queue", true, healthBacklog - 1, 0, "ok", 200},
		{"connected, draining a backlog", true, healthBacklog, 0, "degraded", 200},
		{"short outage", false, 5000, time.Minute, "degraded", 200},
		{"outage at the grace limit", false, 0, healthDownGrace, "degraded", 200},
		{"long outage", false, 0, healthDownGrace + time.Second, "degraded", 503},
	}
	for _, tc := range tests {
		status, code := judge(agent.Stats{Connected: tc.connected, Pending: tc.pending}, tc.down)
		if status != tc.wantStatus || code != tc.wantCode {
			t.Errorf("%s: judge = %s %d, want %s %d", tc.name, status, code, tc.wantStatus, tc.wantCode)
		}
	}
}

// fakeStats is a statsSource and clock a test controls.
type fakeStats struct {
	mu  sync.Mutex
	st  agent.Stats
	now time.Time
}

func (f *fakeStats) Stats() agent.Stats { f.mu.Lock(); defer f.mu.Unlock(); return f.st }
func (f *fakeStats) Now() time.Time     { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeStats) set(st agent.Stats, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st, f.now = st, now
}

// getHealth fetches /healthz (or another path) and decodes the report.
func getHealth(t testing.TB, method, url string) (int, healthReport, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var rep healthReport
	if resp.Header.Get("Content-Type") == "application/json" && len(body) > 0 {
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatalf("%s %s: %v in %q", method, url, err, body)
		}
	}
	return resp.StatusCode, rep, string(body)
}

func TestHealthEndpoint(t *testing.T) {
	src := &fakeStats{now: t0}
	expires := t0.Add(30 * 24 * time.Hour)
	h := &healthHandler{src: src, expiry: fixedExpiry(expires), version: "9.9.9", now: src.Now, tracker: newDownTracker(t0)}
	srv, err := startHealth("127.0.0.1:0", h, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	url := "http://" + srv.Addr() + healthPath

	// Not connected yet, one minute after start: degraded but 200.
	src.set(agent.Stats{Pending: 3}, t0.Add(time.Minute))
	code, rep, body := getHealth(t, http.MethodGet, url)
	if code != 200 || rep.Status != "degraded" || rep.Connected || rep.Pending != 3 || rep.DisconnectedSeconds != 60 {
		t.Errorf("before connecting: %d %s, want 200 degraded, connected false, pending 3, disconnectedSeconds 60", code, body)
	}
	if !strings.Contains(body, `"lastDelivered":null`) || rep.Version != "9.9.9" || rep.IdentityExpires == nil || !rep.IdentityExpires.Equal(expires) ||
		rep.IdentityExpiresInSeconds == nil || *rep.IdentityExpiresInSeconds != int64(expires.Sub(t0.Add(time.Minute))/time.Second) {
		t.Errorf("body %s: want lastDelivered null, version 9.9.9, identity expiry %v", body, expires)
	}

	// Connected and delivering.
	last := t0.Add(2 * time.Minute)
	src.set(agent.Stats{Connected: true, Connects: 1, LastDelivered: last}, t0.Add(2*time.Minute))
	if code, rep, body := getHealth(t, http.MethodGet, url); code != 200 || rep.Status != "ok" || rep.LastDelivered == nil || !rep.LastDelivered.Equal(last) {
		t.Errorf("connected: %d %s, want 200 ok with lastDelivered %v", code, body, last)
	}

	// Dropped, and still down more than five minutes later: 503.
	src.set(agent.Stats{Connects: 1, LastDelivered: last}, t0.Add(3*time.Minute))
	getHealth(t, http.MethodGet, url)
	src.set(agent.Stats{Connects: 1, LastDelivered: last}, t0.Add(9*time.Minute))
	if code, rep, body := getHealth(t, http.MethodGet, url); code != 503 || rep.Status != "degraded" || rep.DisconnectedSeconds != 360 {
		t.Errorf("down 6 minutes: %d %s, want 503 degraded, disconnectedSeconds 360", code, body)
	}

	if code, _, _ := getHealth(t, http.MethodHead, url); code != 503 {
		t.Errorf("HEAD %s = %d, want 503", healthPath, code)
	}
	if code, _, _ := getHealth(t, http.MethodPost, url); code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s = %d, want 405", healthPath, code)
	}
	if code, _, _ := getHealth(t, http.MethodGet, "http://"+srv.Addr()+"/"); code != http.StatusNotFound {
		t.Errorf("GET / = %d, want 404", code)
	}
}

// TestHealthCloseStopsServing: after Close the port refuses connections
// and a second Close is harmless.
func TestHealthCloseStopsServing(t *testing.T) {
	src := &fakeStats{now: t0}
	h := &healthHandler{src: src, now: src.Now, tracker: newDownTracker(t0)}
	srv, err := startHealth("127.0.0.1:0", h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	if err := srv.Close(t.Context()); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	select {
	case <-srv.done:
	default:
		t.Error("Close returned before the serving goroutine ended")
	}
	if resp, err := http.Get("http://" + addr + healthPath); err == nil {
		resp.Body.Close()
		t.Errorf("GET after Close succeeded (%s), want a refused connection", resp.Status)
	}
}

func TestHealthListenError(t *testing.T) {
	src := &fakeStats{now: t0}
	h := &healthHandler{src: src, now: src.Now, tracker: newDownTracker(t0)}
	first, err := startHealth("127.0.0.1:0", h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(t.Context())
	if second, err := startHealth(first.Addr(), h, slog.New(slog.DiscardHandler)); err == nil {
		second.Close(t.Context())
		t.Fatal("startHealth on a port in use = nil error")
	}
}
