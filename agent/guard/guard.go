package guard

import (
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// Limits and defaults for Config. The minimum quiet period and the maximum
// lease are part of the floor: no configuration gets past them.
const (
	DefaultQuietPeriod = 10 * time.Minute
	MinQuietPeriod     = time.Minute
	DefaultLease       = 10 * time.Second
	MaxLease           = 2 * time.Minute
)

// Guard states reported in Status.State.
const (
	StateIdle    = "idle"
	StateLive    = "live"
	StateUnknown = "unknown"
	StateQuiet   = "quiet"
)

// Config tunes a Guard. The zero value is valid.
type Config struct {
	// QuietPeriod is how long the case state must stay idle, without a
	// heartbeat gap, before work resumes. Zero means DefaultQuietPeriod;
	// anything below MinQuietPeriod is raised to it.
	QuietPeriod time.Duration
	// Lease is how long one case-state observation stays valid; with no
	// Observe for longer the state is stale and counts as live. Zero or
	// negative means DefaultLease; anything above MaxLease is lowered to it.
	Lease time.Duration
	// Windows are the maintenance windows in which Activate may run (any
	// one open suffices). Empty: Activate is never allowed.
	Windows []Window
}

// normalize applies defaults and the floor.
func (c Config) normalize() Config {
	if c.QuietPeriod <= 0 {
		c.QuietPeriod = DefaultQuietPeriod
	}
	c.QuietPeriod = max(c.QuietPeriod, MinQuietPeriod)
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	c.Lease = min(c.Lease, MaxLease)
	c.Windows = append([]Window(nil), c.Windows...)
	return c
}

// Status is the guard's state for the twin.
type Status struct {
	State      string    `json:"state"`               // StateIdle, StateLive, StateUnknown or StateQuiet
	Reason     string    `json:"reason,omitempty"`    // why work is held; empty when idle
	Since      time.Time `json:"since,omitzero"`      // when State began (zero: never observed)
	Deferrals  int       `json:"deferrals"`           // actions deferred since the guard was made
	NextWindow time.Time `json:"nextWindow,omitzero"` // next maintenance window opening at or after now
}

// Guard is the patient-first state machine. See the package doc.
type Guard struct {
	cfg Config

	observed   bool
	state      device.CaseState // last observed
	lastSeen   time.Time        // time of the last Observe
	stateSince time.Time        // when the observed state (or its heartbeat) began
	idleSince  time.Time        // start of the current continuous idle

	last      map[Action]Decision // last decision per action, to detect changes
	deferrals int
	audit     auditTrail
}

// New returns a Guard that has observed nothing yet, so it holds all work.
func New(cfg Config) *Guard {
	return &Guard{cfg: cfg.normalize(), last: make(map[Action]Decision)}
}

// QuietPeriod is the effective quiet period after defaults and the floor.
func (g *Guard) QuietPeriod() time.Duration { return g.cfg.QuietPeriod }

// Lease is the effective case-state lease.
func (g *Guard) Lease() time.Duration { return g.cfg.Lease }

// Observe records the case state reported by the device at now. Call it at
// least once per lease; a gap longer than the lease counts as live and
// restarts the quiet period.
func (g *Guard) Observe(state device.CaseState, now time.Time) {
	gap := !g.observed || now.Before(g.lastSeen) || now.Sub(g.lastSeen) > g.cfg.Lease
	changed := !g.observed || state != g.state
	if state == device.CaseIdle && (changed || gap) {
		g.idleSince = now
	}
	if changed || gap {
		g.stateSince = now
		reason := "observed"
		if !changed {
			reason = "heartbeat resumed after a gap or clock change"
		}
		g.audit.add(AuditEntry{At: now, Action: AuditCaseState, Decision: state.String(), Reason: reason})
	}
	g.observed, g.state, g.lastSeen = true, state, now
}

// view is the effective case state at one instant.
type view struct {
	state, reason string
	since, until  time.Time // until: end of the quiet period
}

func (g *Guard) view(now time.Time) view {
	switch {
	case !g.observed:
		return view{state: StateUnknown, reason: ReasonNeverObserved}
	case now.Sub(g.lastSeen) > g.cfg.Lease:
		return view{state: StateUnknown, reason: ReasonStale, since: g.lastSeen.Add(g.cfg.Lease)}
	case g.state == device.CaseLive:
		return view{state: StateLive, reason: ReasonLive, since: g.stateSince}
	case g.state != device.CaseIdle:
		return view{state: StateUnknown, reason: ReasonUnknown, since: g.stateSince}
	}
	until := g.idleSince.Add(g.cfg.QuietPeriod)
	if now.Before(until) {
		return view{state: StateQuiet, reason: ReasonQuiet, since: g.idleSince, until: until}
	}
	return view{state: StateIdle, since: until}
}

// Allow decides whether action may run at now, records the decision for
// Status and the audit trail, and returns it.
func (g *Guard) Allow(action Action, now time.Time) Decision {
	d := g.decide(action, now)
	g.record(action, d, now)
	return d
}

// Peek is what Allow would decide for action at now, without recording
// the decision: no deferral is counted and nothing is audited. It answers
// "when would this run", for a caller that does not run it itself.
func (g *Guard) Peek(action Action, now time.Time) Decision { return g.decide(action, now) }

func (g *Guard) decide(action Action, now time.Time) Decision {
	if !action.valid() {
		return Decision{Reason: ReasonUnknownAction}
	}
	v := g.view(now)
	if v.state != StateIdle {
		d := Decision{Reason: v.reason, RetryAt: v.until}
		if action == Activate && !v.until.IsZero() {
			d.RetryAt = nextOpen(g.cfg.Windows, v.until)
		}
		return d
	}
	if action != Activate {
		return Decision{Allowed: true}
	}
	if len(g.cfg.Windows) == 0 {
		return Decision{Reason: ReasonNoWindow}
	}
	for _, w := range g.cfg.Windows {
		if w.Contains(now) {
			return Decision{Allowed: true}
		}
	}
	return Decision{Reason: ReasonOutsideWindow, RetryAt: nextOpen(g.cfg.Windows, now)}
}

// record counts deferrals and audits decisions that change something. An
// allowed Activate is always audited: the caller is about to disturb the
// device.
func (g *Guard) record(action Action, d Decision, now time.Time) {
	prev, had := g.last[action]
	g.last[action] = d
	if !d.Allowed && (!had || prev.Allowed) {
		g.deferrals++
	}
	changed := !had || prev.Allowed != d.Allowed || prev.Reason != d.Reason
	if !changed && !(d.Allowed && action == Activate) {
		return
	}
	verdict := DecisionAllow
	switch {
	case !d.Allowed:
		verdict = DecisionDefer
	case had && !prev.Allowed:
		verdict = DecisionResume
	}
	g.audit.add(AuditEntry{At: now, Action: action.String(), Decision: verdict, Reason: d.Reason, RetryAt: d.RetryAt})
}

// Status reports the guard's state at now.
func (g *Guard) Status(now time.Time) Status {
	v := g.view(now)
	return Status{
		State:      v.state,
		Reason:     v.reason,
		Since:      v.since,
		Deferrals:  g.deferrals,
		NextWindow: nextOpen(g.cfg.Windows, now),
	}
}

// Audit returns a copy of the audit entries not yet drained.
func (g *Guard) Audit() []AuditEntry { return g.audit.snapshot() }

// Drain returns the audit entries not yet drained and forgets them.
func (g *Guard) Drain() []AuditEntry { return g.audit.drain() }

// nextOpen is the earliest time at or after t at which any window is open;
// zero when there are no windows or none opens within the search horizon.
func nextOpen(ws []Window, t time.Time) time.Time {
	var best time.Time
	for _, w := range ws {
		if o := w.NextOpen(t); !o.IsZero() && (best.IsZero() || o.Before(best)) {
			best = o
		}
	}
	return best
}
