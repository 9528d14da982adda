package guard

import (
	"fmt"
	"time"
	_ "time/tzdata" // Windows hosts have no zoneinfo database
)

// Window duration limits.
const (
	MinWindowDuration = time.Minute
	MaxWindowDuration = 7 * 24 * time.Hour
)

// Window is a recurring maintenance window: it opens at each cron start on
// the wall clock of its time zone and stays open for Duration of real time
// (so a window spanning a daylight-saving change is an hour shorter or
// longer on the wall clock). The zero Window is never open.
type Window struct {
	spec     string
	sched    schedule
	duration time.Duration
	loc      *time.Location
	always   bool
}

// ParseWindow parses a window: start is "minute hour day-of-month month
// day-of-week" (numbers, "*", lists, ranges, steps; day-of-week 0 or 7 is
// Sunday; when both day fields are restricted a day matching either
// counts), duration is between MinWindowDuration and MaxWindowDuration,
// and tz is an IANA zone name such as "Europe/Berlin" ("" or "UTC" for
// UTC). A start that a daylight-saving jump skips does not happen that day.
func ParseWindow(start string, duration time.Duration, tz string) (Window, error) {
	s, err := parseSchedule(start)
	if err != nil {
		return Window{}, fmt.Errorf("maintenance window: %w", err)
	}
	if duration < MinWindowDuration || duration > MaxWindowDuration {
		return Window{}, fmt.Errorf("maintenance window %q: duration %v outside %v-%v",
			start, duration, MinWindowDuration, MaxWindowDuration)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return Window{}, fmt.Errorf("maintenance window %q: time zone %q: %w", start, tz, err)
	}
	return Window{spec: start, sched: s, duration: duration, loc: loc}, nil
}

// AlwaysOpen is a window that is always open: activation is then limited
// by the case floor alone. Use it only where the site has agreed to that.
func AlwaysOpen() Window { return Window{spec: "always", always: true} }

// String describes the window, e.g. `"0 2 * * 6" for 4h0m0s in Europe/Berlin`.
func (w Window) String() string {
	switch {
	case w.always:
		return "always"
	case w.loc == nil:
		return "never"
	}
	return fmt.Sprintf("%q for %v in %s", w.spec, w.duration, w.loc)
}

// Contains reports whether the window is open at t: some start s has
// s <= t < s+Duration.
func (w Window) Contains(t time.Time) bool {
	if w.always {
		return true
	}
	if w.loc == nil {
		return false
	}
	s := w.sched.next(t.Add(-w.duration), w.loc)
	return !s.IsZero() && !s.After(t)
}

// NextOpen returns t if the window is open at t, else the next start after
// t; zero if the window never opens.
func (w Window) NextOpen(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	if w.always || w.loc == nil {
		return time.Time{}
	}
	return w.sched.next(t, w.loc)
}
