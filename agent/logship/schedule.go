package logship

import (
	"encoding/json"
	"fmt"
	"time"
)

// schedule is the twin's periodic upload: every Interval, the files of
// Sources modified since the last scheduled upload. Persisted, so a
// restart neither repeats nor skips a period.
type schedule struct {
	Interval time.Duration `json:"interval"`
	Sources  []string      `json:"sources,omitempty"`
	LastTo   time.Time     `json:"lastTo,omitzero"` // end of the last scheduled range
}

// due is when the next scheduled upload should start (zero: never).
func (sc schedule) due(now time.Time) time.Time {
	if sc.Interval <= 0 {
		return time.Time{}
	}
	if sc.LastTo.IsZero() {
		return now
	}
	return sc.LastTo.Add(sc.Interval)
}

// SetSchedule sets the periodic upload from the twin: every interval
// (zero: off), the files of sources (empty: every source) modified since
// the previous scheduled upload. The first one covers the last interval.
func (s *Shipper) SetSchedule(interval time.Duration, sources []string) error {
	if err := s.checkSources(sources); err != nil {
		return err
	}
	s.mu.Lock()
	s.sched.Interval, s.sched.Sources = max(interval, 0), append([]string(nil), sources...)
	err := s.putScheduleLocked()
	s.mu.Unlock()
	s.poke()
	return err
}

func (s *Shipper) putScheduleLocked() error {
	b, _ := json.Marshal(s.sched)
	if err := s.cfg.Store.PutUpload(keySchedule, b); err != nil {
		return fmt.Errorf("store log upload schedule: %w", err)
	}
	return nil
}

func (s *Shipper) loadSchedule() error {
	b, ok, err := s.cfg.Store.GetUpload(keySchedule)
	if err != nil || !ok {
		return err
	}
	if json.Unmarshal(b, &s.sched) != nil {
		s.sched = schedule{} // unreadable: off until the twin sets it again
	}
	return nil
}

// maxIdle is the longest the runner sleeps without a wake-up.
const maxIdle = time.Minute

// scheduleTick requests the scheduled upload if it is due and returns how
// long the runner may sleep.
func (s *Shipper) scheduleTick() time.Duration {
	now := s.cfg.Now()
	s.mu.Lock()
	sc := s.sched
	due := sc.due(now)
	if due.IsZero() || now.Before(due) {
		s.mu.Unlock()
		if due.IsZero() {
			return maxIdle
		}
		return min(due.Sub(now), maxIdle)
	}
	from := sc.LastTo
	if from.IsZero() {
		from = now.Add(-sc.Interval)
	}
	s.sched.LastTo = now
	if err := s.putScheduleLocked(); err != nil {
		s.log.Warn("schedule not stored", "err", err)
	}
	s.mu.Unlock()
	s.request("schedule", from, now, sc.Sources)
	return 0
}
