package hostlink

import (
	"maps"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// Host statuses a heartbeat may carry, and the one reported when there is
// no current heartbeat.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusFault    = "fault"
	StatusUnknown  = "unknown"
)

// MetricHostStatus is the metric name under which Metrics reports the
// host's status; heartbeats may not use it.
const MetricHostStatus = "hostStatus"

// state is the pure core of a Link: what the host last told it and when.
// It does no I/O and keeps no clock; every method takes now. The zero
// phase is device.CaseUnknown.
type state struct {
	timeout time.Duration
	phase   device.CaseState // as last set by start/stop; Unknown until then, after a lapse or a rejected case request
	since   time.Time        // when phase began
	contact time.Time        // last accepted start, stop or heartbeat; zero = never
	beat    time.Time        // last accepted heartbeat; zero = never
	status  string           // last heartbeat's status; "" = none since the last lapse
	metrics map[string]any   // last heartbeat's metrics; owned, never handed out
}

func newState(timeout time.Duration, now time.Time) state {
	return state{timeout: timeout, since: now}
}

// lapsed reports whether the host has been silent for the link timeout (or
// has never spoken).
func (s *state) lapsed(now time.Time) bool {
	return s.contact.IsZero() || now.Sub(s.contact) >= s.timeout
}

// expire forgets the case phase and the heartbeat once the link has lapsed,
// so a host that comes back must state its case again (fail safe).
func (s *state) expire(now time.Time) {
	if s.contact.IsZero() || !s.lapsed(now) {
		return
	}
	if s.phase != device.CaseUnknown {
		s.phase, s.since = device.CaseUnknown, s.contact.Add(s.timeout)
	}
	s.status, s.metrics = "", nil
}

// setCase records an accepted start (Live) or stop (Idle). It reports
// whether the phase changed.
func (s *state) setCase(now time.Time, cs device.CaseState) bool {
	s.expire(now)
	s.contact = now
	if s.phase == cs {
		return false
	}
	s.phase, s.since = cs, now
	return true
}

// reject records an authenticated case request that could not be
// understood: the host meant to change the case, so the phase becomes
// Unknown (treated as live). The link timeout is not refreshed.
func (s *state) reject(now time.Time) {
	s.expire(now)
	if s.phase != device.CaseUnknown {
		s.phase, s.since = device.CaseUnknown, now
	}
}

// heartbeat records an accepted heartbeat; metrics becomes owned by s.
func (s *state) heartbeat(now time.Time, status string, metrics map[string]any) {
	s.expire(now)
	s.contact, s.beat = now, now
	s.status, s.metrics = status, metrics
}

// caseState is the case state the agent must act on.
func (s *state) caseState(now time.Time) device.CaseState {
	if s.lapsed(now) {
		return device.CaseUnknown
	}
	return s.phase
}

// sinceAt is when the state caseState(now) reports began.
func (s *state) sinceAt(now time.Time) time.Time {
	if s.phase != device.CaseUnknown && s.lapsed(now) {
		return s.contact.Add(s.timeout)
	}
	return s.since
}

// hostMetrics returns a copy of the last heartbeat's metrics plus
// MetricHostStatus. After a lapse only the status, "unknown", is left, so
// stale values are never reported as current.
func (s *state) hostMetrics(now time.Time) map[string]any {
	if s.lapsed(now) || s.status == "" {
		return map[string]any{MetricHostStatus: StatusUnknown}
	}
	m := make(map[string]any, len(s.metrics)+1)
	maps.Copy(m, s.metrics)
	m[MetricHostStatus] = s.status
	return m
}
