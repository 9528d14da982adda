package hostlink

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// Server timeouts: requests are tiny and come from the same machine.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 8 << 10
	// shutdownGrace bounds how long Serve waits for requests in flight
	// before closing their connections.
	shutdownGrace = 2 * time.Second
)

// Errors from Serve.
var (
	// ErrClosed is returned by Serve after Close.
	ErrClosed = errors.New("hostlink: link closed")
	// ErrServing is returned by a second concurrent or later call to Serve.
	ErrServing = errors.New("hostlink: Serve already called")
)

// Link is the local API the clinical software talks to, and the
// device.Device the agent reads.
type Link struct {
	cfg     Config
	token   [sha256.Size]byte // SHA-256 of the bearer token
	caseKey []byte            // HMAC key for case references in logs
	log     *slog.Logger
	ln      net.Listener
	srv     *http.Server
	stop    chan struct{} // closed by Close
	once    sync.Once     // closes stop

	mu sync.Mutex
	st state // guarded by mu

	runMu   sync.Mutex
	closing bool          // guarded by runMu: Close was called
	served  chan struct{} // guarded by runMu: closed when Serve returns; nil until Serve starts
}

var _ device.Device = (*Link)(nil)

// New validates cfg, reads the token file and binds the listener. It
// starts no goroutine: call Serve, and Close when done.
func New(cfg Config) (*Link, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tok, err := readToken(cfg.TokenFile)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	l := &Link{
		cfg:     cfg,
		token:   sha256.Sum256(tok),
		caseKey: key,
		log:     cfg.Logger.With("subsystem", "hostlink"),
		stop:    make(chan struct{}),
		st:      newState(cfg.LinkTimeout, cfg.Clock.Now()),
	}
	l.srv = &http.Server{
		Handler:           l.handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelWarn),
	}
	if l.ln, err = listen(&cfg); err != nil {
		return nil, err
	}
	return l, nil
}

// Addr is the bound address: the socket path, or host:port for TCP.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Network is NetworkUnix or NetworkTCP.
func (l *Link) Network() string { return l.cfg.Network }

// LinkTimeout is the configured link timeout.
func (l *Link) LinkTimeout() time.Duration { return l.cfg.LinkTimeout }

// CaseState reports whether a patient case is live; Unknown (treat as
// live) before the host has said, after the link timeout and after a
// malformed case request.
func (l *Link) CaseState() device.CaseState {
	now := l.cfg.Clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.caseState(now)
}

// Metrics returns the last heartbeat's metrics plus "hostStatus". It never
// blocks on the network.
func (l *Link) Metrics() map[string]any {
	now := l.cfg.Clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.hostMetrics(now)
}

// Serve serves the API until ctx ends or Close is called, then shuts the
// HTTP server down and returns nil. It returns an error if the listener
// fails, ErrClosed after Close and ErrServing if called twice.
func (l *Link) Serve(ctx context.Context) error {
	l.runMu.Lock()
	switch {
	case l.closing:
		l.runMu.Unlock()
		return ErrClosed
	case l.served != nil:
		l.runMu.Unlock()
		return ErrServing
	}
	served := make(chan struct{})
	l.served = served
	l.runMu.Unlock()
	defer close(served)

	l.log.Info("host link serving", "network", l.cfg.Network, "addr", l.Addr(), "linkTimeout", l.cfg.LinkTimeout)
	errc := make(chan error, 1)
	go func() { errc <- l.srv.Serve(l.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("hostlink serve: %w", err)
	case <-ctx.Done():
	case <-l.stop:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := l.srv.Shutdown(sctx); err != nil {
		l.srv.Close()
	}
	<-errc // http.ErrServerClosed
	l.log.Info("host link stopped")
	return nil
}

// Close stops serving, releases the listener and waits for Serve to
// return or ctx to end. It is safe to call more than once and without
// Serve.
func (l *Link) Close(ctx context.Context) error {
	l.runMu.Lock()
	l.closing = true
	served := l.served
	l.runMu.Unlock()
	l.once.Do(func() { close(l.stop) })
	if served == nil {
		// Serve never ran, so the server does not own the listener.
		if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("close hostlink: %w", err)
		}
		return nil
	}
	select {
	case <-served:
		return nil
	case <-ctx.Done():
		l.srv.Close() // cut connections so Serve returns soon
		return fmt.Errorf("close hostlink: %w", ctx.Err())
	}
}
