package hubsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/dps"
)

// restartDrainTimeout bounds how long Restart waits for the broker to see
// every dropped connection as gone before it counts the hub as down.
const restartDrainTimeout = 5 * time.Second

// ErrNotRunning is returned by Restart on a hub that is not started or
// already closed.
var ErrNotRunning = errors.New("hubsim: the hub is not running")

// Restart simulates the hub crashing and coming back, for chaos: every
// endpoint (MQTT/TLS, HTTPS with MQTT over WebSockets, DPS and its service
// API) stops listening and every connection it accepted is reset (no
// DISCONNECT; RST where the connection is TCP). The hub then stays
// unreachable for down, new dials refused, and serves again on the same
// addresses. All state stays: registry, twins, event log, C2D queues,
// pending method calls time out as they would; MQTT sessions are kept, as
// IoT Hub keeps them. Devices reconnect by themselves.
//
// On a caller-supplied listener (Config.MQTTListener, HTTPSListener, the
// DPS's), which the hub cannot reopen, "refused" means a connection
// accepted while down is closed at once.
//
// Restart returns once the hub serves again. If ctx ends (or the hub is
// closed) during the down time, the hub comes back early and Restart
// returns the cause. If an address cannot be listened on again (another
// process took the port meanwhile), Restart says so and that endpoint
// stays down until Close. Restarts are serialised.
//
// Lock order: Hub.restartMu, then restartListener.mu.
func (h *Hub) Restart(ctx context.Context, down time.Duration) error {
	h.restartMu.Lock()
	defer h.restartMu.Unlock()
	if !h.started || h.isClosing() {
		return fmt.Errorf("restart: %w", ErrNotRunning)
	}
	start := time.Now()
	for _, l := range h.endpoints {
		l.down()
	}
	h.restarts.Add(1)
	h.cfg.Logger.Info("hub down (restart)", "for", down)
	err := h.waitDisconnected(ctx)
	if err == nil {
		err = h.sleep(ctx, down-time.Since(start))
	}
	for _, l := range h.endpoints {
		err = errors.Join(err, l.up())
	}
	h.cfg.Logger.Info("hub up again (restart)", "after", time.Since(start).Round(time.Millisecond))
	return err
}

// Restarts returns how many times Restart took the hub down.
func (h *Hub) Restarts() int { return int(h.restarts.Load()) }

// waitDisconnected polls until the broker has seen every reset connection
// go (no identity counts as connected), ctx ends, or restartDrainTimeout.
func (h *Hub) waitDisconnected(ctx context.Context) error {
	deadline := time.Now().Add(restartDrainTimeout)
	for h.registry.ConnectedCount() > 0 && time.Now().Before(deadline) {
		if err := h.sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// sleep waits d (nothing when d <= 0) unless ctx ends or the hub closes.
func (h *Hub) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("restart: %w", ctx.Err())
	case <-h.closing:
		return fmt.Errorf("restart: %w", ErrNotRunning)
	}
}

// isClosing reports whether Close has begun.
func (h *Hub) isClosing() bool {
	select {
	case <-h.closing:
		return true
	default:
		return false
	}
}

// newEndpoint returns a restartable listener, not yet open, over given or
// (given nil) over a TCP listener on addr that bind opens. Every endpoint
// the hub serves goes through one, so Restart can take it down.
func (h *Hub) newEndpoint(given net.Listener, addr string) *restartListener {
	l := &restartListener{given: given, address: addr, wake: make(chan struct{}), conns: make(map[*trackedConn]struct{})}
	h.restartMu.Lock()
	h.endpoints = append(h.endpoints, l)
	h.restartMu.Unlock()
	return l
}

// restartableDPS puts the DPS's listeners (MQTT, and the service API when
// configured) behind restartable ones; New calls it before building the
// DPS, on its own copy of the DPS settings. Start binds them.
func (h *Hub) restartableDPS() {
	if h.cfg.DPS == nil {
		return
	}
	d := *h.cfg.DPS
	o := &d.Options
	addr := o.Addr
	if addr == "" {
		addr = dps.DefaultAddr
	}
	h.dpsEndpoints = []*restartListener{h.newEndpoint(o.Listener, addr)}
	o.Listener = h.dpsEndpoints[0]
	if o.HTTPSListener != nil || o.HTTPSAddr != "" {
		h.dpsEndpoints = append(h.dpsEndpoints, h.newEndpoint(o.HTTPSListener, o.HTTPSAddr))
		o.HTTPSListener = h.dpsEndpoints[1]
	}
	h.cfg.DPS = &d
}

// bindHTTPS opens the HTTPS endpoint's listener behind a restartable one,
// which startHTTPS then serves.
func (h *Hub) bindHTTPS() error {
	addr := h.cfg.HTTPSAddr
	if addr == "" {
		addr = DefaultHTTPSAddr
	}
	l := h.newEndpoint(h.cfg.HTTPSListener, addr)
	if err := l.bind(); err != nil {
		return fmt.Errorf("hub https listener: %w", err)
	}
	h.cfg.HTTPSListener = l
	return nil
}

// bindDPS opens the DPS's listeners; Start calls it before starting DPS.
func (h *Hub) bindDPS() error {
	for i, l := range h.dpsEndpoints {
		if err := l.bind(); err != nil {
			return fmt.Errorf("%s: %w", []string{"dps mqtt listener", "dps https listener"}[i], err)
		}
	}
	return nil
}

// closeEndpoints closes every endpoint's listener (the servers on top
// normally have already; this covers a Start that failed half way).
func (h *Hub) closeEndpoints() {
	h.restartMu.Lock()
	defer h.restartMu.Unlock()
	for _, l := range h.endpoints {
		l.Close()
	}
}

// restartListener is a net.Listener that can go down and come back on the
// same address, invisibly to the server on top: Accept blocks while it is
// down instead of failing. It tracks the connections it accepted so down
// can reset them all, whatever protocol runs over them.
type restartListener struct {
	given   net.Listener // the caller's listener, or nil
	address string       // where to listen when given is nil

	mu sync.Mutex
	// addr and relisten are set by bind. relisten opens a new listener on
	// addr; nil for a caller's listener, which stays open while down
	// (connections then are closed at once).
	addr     net.Addr
	relisten func() (net.Listener, error)
	ln       net.Listener              // nil until bind; guarded by mu
	isDown   bool                      // guarded by mu
	closed   bool                      // guarded by mu
	wake     chan struct{}             // closed and replaced on every change of state; guarded by mu
	conns    map[*trackedConn]struct{} // open accepted connections; guarded by mu
}

// bind opens the listener; binding twice does nothing.
func (l *restartListener) bind() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return nil
	}
	if l.closed {
		return net.ErrClosed
	}
	ln := l.given
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", l.address); err != nil {
			return err
		}
		network, bound := ln.Addr().Network(), ln.Addr().String()
		l.relisten = func() (net.Listener, error) { return net.Listen(network, bound) }
	}
	l.ln, l.addr = ln, ln.Addr()
	return nil
}

// Accept waits for the next connection; across a restart it keeps
// waiting. It fails only once the listener is closed (or on an error of
// the live listener).
func (l *restartListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		ln, wake, closed, parked := l.ln, l.wake, l.closed, l.isDown && l.relisten != nil
		l.mu.Unlock()
		if closed || ln == nil {
			return nil, net.ErrClosed
		}
		if parked {
			<-wake
			continue
		}
		c, err := ln.Accept()
		if err != nil {
			if l.live(ln) {
				return nil, err
			}
			continue // taken down under us, or closed: the loop sees which
		}
		if tc := l.track(ln, c); tc != nil {
			return tc, nil
		}
	}
}

// live reports whether ln is the listener serving now.
func (l *restartListener) live(ln net.Listener) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.closed && !l.isDown && l.ln == ln
}

// track wraps c, accepted on ln, unless the listener went down meanwhile:
// then c is reset and track returns nil.
func (l *restartListener) track(ln net.Listener, c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	ok := !l.isDown && l.ln == ln
	if ok {
		l.conns[tc] = struct{}{}
	}
	l.mu.Unlock()
	if !ok {
		tc.reset()
		return nil
	}
	return tc
}

// down stops listening (a caller's listener stays open but refuses) and
// resets every accepted connection.
func (l *restartListener) down() {
	l.mu.Lock()
	if l.closed || l.isDown || l.ln == nil {
		l.mu.Unlock()
		return
	}
	l.isDown = true
	if l.relisten != nil {
		l.ln.Close()
	}
	conns := l.conns
	l.conns = make(map[*trackedConn]struct{})
	l.changedLocked()
	l.mu.Unlock()
	for c := range conns {
		c.reset()
	}
}

// up listens again on the same address.
func (l *restartListener) up() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || !l.isDown {
		return nil
	}
	if l.relisten != nil {
		ln, err := l.relisten()
		if err != nil {
			return fmt.Errorf("restart: listen again on %s: %w", l.addr, err)
		}
		l.ln = ln
	}
	l.isDown = false
	l.changedLocked()
	return nil
}

func (l *restartListener) changedLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// Close stops the listener for good; accepted connections stay open.
func (l *restartListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var err error
	if l.ln != nil && (!l.isDown || l.relisten == nil) {
		err = l.ln.Close()
	}
	l.changedLocked()
	return err
}

// Addr is the address the listener keeps across restarts (nil before
// bind).
func (l *restartListener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// trackedConn is an accepted connection its listener can reset.
type trackedConn struct {
	net.Conn
	l *restartListener
}

// Close forgets the connection and closes it.
func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// reset closes the connection as a crash would: a TCP peer gets RST.
func (c *trackedConn) reset() {
	if tcp, ok := c.Conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = c.Conn.Close()
}
