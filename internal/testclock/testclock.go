// Package testclock is a clock that tests move by hand, for code that
// takes its time from an injected now function (the guard's policy time,
// update expiry, host sampling, chaos timelines). For tests and the
// features' scenario clocks, never for the agent.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time; pass the method value as a now function.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// NeverFires is a timer function (a guard.Gate's after) whose timers
// never fire: code on a Clock then re-checks only when something observes
// or notifies it, so the test decides when time has passed.
func NeverFires(time.Duration) <-chan time.Time { return nil }
