package guard

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// field describes one of the five cron fields.
type field struct {
	name     string
	min, max int
}

var fields = [5]field{
	{"minute", 0, 59},
	{"hour", 0, 23},
	{"day-of-month", 1, 31},
	{"month", 1, 12},
	{"day-of-week", 0, 7}, // 7 is Sunday, like 0
}

// schedule is a parsed cron start: one bit set per field.
type schedule struct {
	minute, hour, dom, month, dow uint64
	// domStar and dowStar record a field written as "*" or "*/n": when
	// both day fields are restricted a day matches either (cron's rule),
	// otherwise both must match.
	domStar, dowStar bool
}

// parseSchedule parses "minute hour day-of-month month day-of-week" with
// numbers, "*", lists (1,15), ranges (1-5) and steps (*/15, 0-30/10, 5/20).
func parseSchedule(spec string) (schedule, error) {
	parts := strings.Fields(spec)
	if len(parts) != len(fields) {
		return schedule{}, fmt.Errorf("cron start %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", spec, len(parts))
	}
	var sets [5]uint64
	for i, p := range parts {
		set, err := parseField(p, fields[i])
		if err != nil {
			return schedule{}, fmt.Errorf("cron start %q: %s field %q: %w", spec, fields[i].name, p, err)
		}
		sets[i] = set
	}
	if sets[4]&(1<<7) != 0 {
		sets[4] = sets[4]&^(1<<7) | 1
	}
	s := schedule{
		minute: sets[0], hour: sets[1], dom: sets[2], month: sets[3], dow: sets[4],
		domStar: strings.HasPrefix(parts[2], "*"), dowStar: strings.HasPrefix(parts[4], "*"),
	}
	if !s.possible() {
		return schedule{}, fmt.Errorf("cron start %q: day-of-month never occurs in the given months", spec)
	}
	return s, nil
}

func parseField(s string, f field) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(s, ",") {
		bits, err := parseItem(item, f)
		if err != nil {
			return 0, err
		}
		set |= bits
	}
	return set, nil
}

// parseItem parses one list item: "*", "n", "a-b", each optionally "/step".
func parseItem(item string, f field) (uint64, error) {
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("step %q is not a positive number", stepText)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case rng == "*":
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		var err error
		if lo, err = f.value(a); err != nil {
			return 0, err
		}
		if hi, err = f.value(b); err != nil {
			return 0, err
		}
		if lo > hi {
			return 0, fmt.Errorf("range %d-%d runs backwards", lo, hi)
		}
	default:
		v, err := f.value(rng)
		if err != nil {
			return 0, err
		}
		lo = v
		if !hasStep {
			hi = v // "5" alone; "5/20" means 5 to the maximum in steps of 20
		}
	}
	var set uint64
	for v := lo; v <= hi; v += step {
		set |= 1 << v
	}
	return set, nil
}

func (f field) value(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("value %d out of range %d-%d", v, f.min, f.max)
	}
	return v, nil
}

// possible reports whether the day fields can ever match: a restricted
// day-of-month on its own (say "31" in February only) may not.
func (s schedule) possible() bool {
	if s.domStar || !s.dowStar {
		return true // any day, or day-of-week also matches
	}
	maxDays := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= maxDays[m]; d++ {
			if s.dom&(1<<d) != 0 {
				return true
			}
		}
	}
	return false
}

func (s schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}

// searchHorizon bounds how far next looks ahead (leap days recur within 8
// years, so every possible schedule fires within it).
const searchHorizon = 9 * 366 * 24 * time.Hour

// next returns the first start strictly after t, evaluated on the wall
// clock of loc, or zero if there is none within searchHorizon. It walks
// real minutes (not wall-clock ones), so a start time skipped by a
// daylight-saving jump does not occur that day and one repeated by the
// jump back occurs twice.
func (s schedule) next(t time.Time, loc *time.Location) time.Time {
	c := t.Truncate(time.Minute).Add(time.Minute)
	for limit := t.Add(searchHorizon); c.Before(limit); {
		l := c.In(loc)
		var skip time.Time
		switch {
		case s.month&(1<<int(l.Month())) == 0:
			skip = time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(l):
			skip = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<l.Hour()) == 0:
			skip = c.Add(time.Duration(60-l.Minute()) * time.Minute)
		case s.minute&(1<<l.Minute()) == 0:
			skip = c.Add(time.Minute)
		default:
			return c
		}
		if !skip.After(c) {
			skip = c.Add(time.Minute) // midnight inside a DST gap resolved backwards
		}
		c = skip
	}
	return time.Time{}
}
