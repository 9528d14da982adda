package guard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// MaxRecheck is the longest a Gate waiter sleeps between checks, measured
// on the Gate's clock, even without a Notify.
const MaxRecheck = time.Second

// Gate shares one Guard between goroutines. It starts no goroutines; the
// timers it waits on come from the injected after function.
type Gate struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time

	mu      sync.Mutex // guards guard and changed
	guard   *Guard
	changed chan struct{} // closed and replaced by Notify
}

// NewGate wraps g, which the caller must no longer use directly. now is the
// clock; after returns a channel that fires after a duration on that clock
// (nil: time.After, right for the real clock; a scaled clock passes its
// own).
func NewGate(g *Guard, now func() time.Time, after func(time.Duration) <-chan time.Time) *Gate {
	if after == nil {
		after = time.After
	}
	return &Gate{now: now, after: after, guard: g, changed: make(chan struct{})}
}

// Observe records the case state at the Gate's now and wakes all waiters.
// The runner calls it for every poll of the device (at least once a
// second, so pausable work notices a case start within one).
func (g *Gate) Observe(state device.CaseState) {
	g.mu.Lock()
	g.guard.Observe(state, g.now())
	g.mu.Unlock()
	g.Notify()
}

// Notify wakes every Wait and closes the channel Changed returned.
func (g *Gate) Notify() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.changed)
	g.changed = make(chan struct{})
}

// Changed returns a channel closed at the next Notify or Observe. Running
// pausable work selects on it and calls Check to learn whether to stop.
func (g *Gate) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// Allow asks the guard about action now.
func (g *Gate) Allow(action Action) Decision {
	d, _ := g.allow(action)
	return d
}

// Peek asks the guard about action now without recording the decision
// (Guard.Peek).
func (g *Gate) Peek(action Action) Decision {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.guard.Peek(action, g.now())
}

func (g *Gate) allow(action Action) (Decision, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.guard.Allow(action, g.now()), g.changed
}

// Check returns nil if action may run now, else a *DeferredError.
func (g *Gate) Check(action Action) error {
	if d := g.Allow(action); !d.Allowed {
		return &DeferredError{Action: action, Decision: d}
	}
	return nil
}

// Wait blocks until action is allowed or ctx ends. It re-checks on every
// Notify, at the decision's RetryAt, and at least every MaxRecheck.
func (g *Gate) Wait(ctx context.Context, action Action) error {
	for {
		d, changed := g.allow(action)
		if d.Allowed {
			return nil
		}
		delay := MaxRecheck
		if !d.RetryAt.IsZero() {
			delay = max(min(delay, d.RetryAt.Sub(g.now())), 0)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("guard: wait for %s (%s): %w", action, d.Reason, ctx.Err())
		case <-changed:
		case <-g.after(delay):
		}
	}
}

// Status reports the guard's state now.
func (g *Gate) Status() Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.guard.Status(g.now())
}

// Drain returns and forgets the audit entries not yet drained.
func (g *Gate) Drain() []AuditEntry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.guard.Drain()
}

// SetWindows replaces the maintenance windows (a desired-property change)
// and wakes waiters. Windows only ever narrow what the guard allows: with
// none, activation is never allowed.
func (g *Gate) SetWindows(ws []Window) {
	g.mu.Lock()
	g.guard.cfg.Windows = append([]Window(nil), ws...)
	g.mu.Unlock()
	g.Notify()
}
