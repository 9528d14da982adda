package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
)

// Health rule (GET /healthz):
//
//	status "ok",       200: connected to the hub, fewer than healthBacklog messages pending
//	status "degraded", 200: connected but draining a backlog of healthBacklog or more, or
//	                        disconnected for at most healthDownGrace (reconnect backoff caps
//	                        at 60 s, so short outages are normal and are not alarms)
//	status "degraded", 503: disconnected (or never connected since start) for more than
//	                        healthDownGrace
//
// Nothing is lost while degraded: messages wait in the store. How long the
// agent has been down is measured from the samples the endpoint takes, so
// it is exact to within one poll interval (a reconnect and drop between two
// polls restarts the count).
const (
	healthDownGrace = 5 * time.Minute
	healthBacklog   = 100
	healthPath      = "/healthz"
)

// statsSource is what the health endpoint reads; *agent.Agent satisfies it.
type statsSource interface {
	Stats() agent.Stats
}

// healthReport is the JSON body of /healthz. Fields are added, never
// renamed. IdentityExpires is the device certificate's expiry: the fixed
// one, or the one DPS issued; with provisioning both identity fields are
// null until the first registration.
type healthReport struct {
	Status                   string     `json:"status"` // ok|degraded
	Connected                bool       `json:"connected"`
	Pending                  int        `json:"pending"`
	LastDelivered            *time.Time `json:"lastDelivered"` // null: nothing delivered since start
	DisconnectedSeconds      int64      `json:"disconnectedSeconds"`
	IdentityExpires          *time.Time `json:"identityExpires"`
	IdentityExpiresInSeconds *int64     `json:"identityExpiresInSeconds"`
	Version                  string     `json:"version"`
}

// downTracker estimates since when the agent has been disconnected from
// successive Stats samples. Pure apart from its mutex: time is an input.
type downTracker struct {
	mu        sync.Mutex
	downSince time.Time // guarded by mu: zero while connected
	connects  int64     // guarded by mu: Stats.Connects at the last sample
}

// newDownTracker starts disconnected at start (the agent has not connected yet).
func newDownTracker(start time.Time) *downTracker { return &downTracker{downSince: start} }

// observe records a sample and returns how long the agent has been down.
func (t *downTracker) observe(st agent.Stats, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case st.Connected:
		t.downSince = time.Time{}
	case t.downSince.IsZero() || st.Connects != t.connects:
		t.downSince = now // it was connected at some point since the last sample
	}
	t.connects = st.Connects
	if st.Connected {
		return 0
	}
	return now.Sub(t.downSince)
}

// judge applies the health rule.
func judge(st agent.Stats, down time.Duration) (status string, code int) {
	switch {
	case st.Connected && st.Pending < healthBacklog:
		return "ok", http.StatusOK
	case st.Connected || down <= healthDownGrace:
		return "degraded", http.StatusOK
	}
	return "degraded", http.StatusServiceUnavailable
}

// healthHandler serves /healthz.
type healthHandler struct {
	src      statsSource
	expiry   identityExpiry // nil: no identity to report
	version  string
	now      func() time.Time
	tracker  *downTracker
	sampleMu sync.Mutex // serialises samples so downTracker sees them in order
}

func (h *healthHandler) report() (healthReport, int) {
	h.sampleMu.Lock()
	now := h.now()
	st := h.src.Stats()
	down := h.tracker.observe(st, now)
	h.sampleMu.Unlock()
	status, code := judge(st, down)
	r := healthReport{
		Status:              status,
		Connected:           st.Connected,
		Pending:             st.Pending,
		DisconnectedSeconds: int64(down / time.Second),
		Version:             h.version,
	}
	if h.expiry != nil {
		if exp, ok := h.expiry(); ok {
			t, left := exp.UTC(), int64(exp.Sub(now)/time.Second)
			r.IdentityExpires, r.IdentityExpiresInSeconds = &t, &left
		}
	}
	if !st.LastDelivered.IsZero() {
		t := st.LastDelivered.UTC()
		r.LastDelivered = &t
	}
	return r, code
}

func (h *healthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != healthPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rep, code := h.report()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(rep) // a write error means the client went away
}

// healthServer is the loopback HTTP server for /healthz. It owns one
// goroutine (the accept loop), which Close stops and waits for.
type healthServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when the accept loop has returned
	once sync.Once
}

// startHealth listens on addr (already checked to be loopback) and serves.
func startHealth(addr string, h *healthHandler, log *slog.Logger) (*healthServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health endpoint: %w", err)
	}
	s := &healthServer{
		ln: ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    8 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("health endpoint stopped", "err", err)
		}
	}()
	log.Info("health endpoint listening", "addr", s.Addr(), "path", healthPath)
	return s, nil
}

// Addr is the address the endpoint listens on.
func (s *healthServer) Addr() string { return s.ln.Addr().String() }

// Close shuts the server down, letting requests in flight finish until
// ctx ends, and waits for the accept loop. Safe to call twice.
func (s *healthServer) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		if err = s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
		}
		<-s.done
	})
	return err
}
