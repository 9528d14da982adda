package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
)

// Defaults for a Network's tunables.
const (
	// DefaultSendBuffer is how many bytes a conn holds during a partition
	// before Write blocks, like a socket send buffer.
	DefaultSendBuffer = 256 << 10
	// DefaultLinger bounds how long held writes are still delivered after
	// the conn was closed, like a kernel finishing a send after close.
	DefaultLinger = 5 * time.Second
)

// ErrPartitioned reports that a dial gave up because its site was
// partitioned until the dial's context ended.
var ErrPartitioned = errors.New("site is partitioned")

// DialFunc is how a device opens its raw connection (TCP today, an in-memory
// pipe later).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Network groups connections by site and injects faults into them. The zero
// value is not usable; call NewNetwork.
type Network struct {
	// SendBuffer is the bytes held per conn during a partition; zero means
	// DefaultSendBuffer. Set it before the first Wrap.
	SendBuffer int
	// Linger bounds the delivery of held writes after Close; zero means
	// DefaultLinger. Set it before the first Wrap.
	Linger time.Duration

	tl *Timeline

	mu    sync.Mutex // guards sites
	sites map[string]*site
}

// site is the fault state shared by the conns of one hospital site.
type site struct {
	name        string
	partitioned atomic.Bool // read lock-free on every Read and Write

	mu          sync.Mutex // guards the fields below
	conns       map[*conn]struct{}
	healed      chan struct{} // closed by Heal; nil while healthy
	dialWaiters int           // dials waiting for a heal (for tests)
}

// NewNetwork returns a network recording on tl; a nil tl means a fresh
// timeline on the wall clock.
func NewNetwork(tl *Timeline) *Network {
	if tl == nil {
		tl = NewTimeline(nil)
	}
	return &Network{tl: tl, sites: make(map[string]*site)}
}

// Timeline returns the timeline the network records on.
func (n *Network) Timeline() *Timeline { return n.tl }

// Wrap returns c wrapped in the fault injector of the named site. The
// wrapper owns c: closing the wrapper closes c (at once, or on heal).
func (n *Network) Wrap(name string, c net.Conn) net.Conn {
	s := n.site(name)
	w := &conn{under: c, s: s, maxHeld: n.SendBuffer, linger: n.Linger}
	if w.maxHeld <= 0 {
		w.maxHeld = DefaultSendBuffer
	}
	if w.linger <= 0 {
		w.linger = DefaultLinger
	}
	s.mu.Lock()
	s.conns[w] = struct{}{}
	s.mu.Unlock()
	return w
}

// Dialer returns a DialFunc that dials through dial and wraps the result in
// the named site. While the site is partitioned it waits for the heal; if
// ctx ends first it returns an error wrapping ErrPartitioned and ctx.Err().
// A dial that waited across a heal completes at its next SYN
// retransmission after the heal (see synRetransmitDelay), as a real TCP
// connect does, so a healed site's devices do not all connect at once.
func (n *Network) Dialer(name string, dial DialFunc) DialFunc {
	s := n.site(name)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		start := time.Now()
		waited, err := s.awaitHealed(ctx)
		if err == nil && waited {
			if d := synRetransmitDelay(start, time.Now()); d > 0 {
				if err = backoff.Sleep(ctx, d); err != nil {
					err = fmt.Errorf("%w: %w", ErrPartitioned, err)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("chaos: dial %s %s via site %q: %w", network, addr, name, err)
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return n.Wrap(name, c), nil
	}
}

// Partition turns the named site into a blackhole and records it on the
// timeline. Partitioning a partitioned site does nothing.
func (n *Network) Partition(name string) {
	s := n.site(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partitioned.Load() {
		return
	}
	s.healed = make(chan struct{})
	s.partitioned.Store(true)
	n.tl.Record(KindPartition, name, fmt.Sprintf("%d conns", len(s.conns)))
}

// Heal restores the named site and records it on the timeline: held writes
// are delivered, held reads released, deferred closes carried out and
// waiting dials released. Healing a healthy site does nothing.
func (n *Network) Heal(name string) {
	s := n.site(name)
	s.mu.Lock()
	if !s.partitioned.Load() {
		s.mu.Unlock()
		return
	}
	s.partitioned.Store(false)
	close(s.healed)
	s.healed = nil
	n.tl.Record(KindHeal, name, fmt.Sprintf("%d conns", len(s.conns)))
	var closing []*conn
	for c := range s.conns {
		if c.heal() {
			closing = append(closing, c)
		}
	}
	s.mu.Unlock()
	for _, c := range closing {
		_ = c.closeUnder()
	}
}

// Partitioned reports whether the named site is partitioned.
func (n *Network) Partitioned(name string) bool {
	s := n.lookup(name)
	return s != nil && s.partitioned.Load()
}

// Conns returns how many wrapped conns of the named site are not yet fully
// closed (a conn closed during a partition counts until the heal).
func (n *Network) Conns(name string) int {
	s := n.lookup(name)
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// site returns the named site, creating it healthy if needed.
func (n *Network) site(name string) *site {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.sites[name]
	if s == nil {
		s = &site{name: name, conns: make(map[*conn]struct{})}
		n.sites[name] = s
	}
	return s
}

// lookup returns the named site or nil.
func (n *Network) lookup(name string) *site {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sites[name]
}

// awaitHealed blocks while the site is partitioned, until ctx ends. It
// reports whether it had to wait.
func (s *site) awaitHealed(ctx context.Context) (waited bool, err error) {
	for ; ; waited = true {
		s.mu.Lock()
		healed := s.healed
		if healed == nil {
			s.mu.Unlock()
			return waited, nil
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return waited, fmt.Errorf("%w: %w", ErrPartitioned, err)
		}
		s.dialWaiters++
		s.mu.Unlock()
		select {
		case <-healed:
		case <-ctx.Done():
		}
		s.mu.Lock()
		s.dialWaiters--
		s.mu.Unlock()
	}
}

// remove forgets a fully closed conn.
func (s *site) remove(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}
