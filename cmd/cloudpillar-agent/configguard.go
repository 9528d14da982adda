package main

import (
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// Defaults of the guard section and the audit log.
const (
	defaultQuietPeriodMinutes = int(guard.DefaultQuietPeriod / time.Minute)
	minQuietPeriodMinutes     = int(guard.MinQuietPeriod / time.Minute)
	maxQuietPeriodMinutes     = 24 * 60
	defaultTimeZone           = "UTC"
	defaultAuditLogName       = "audit.log" // next to the store
)

// guardFields is the guard section: the patient-first guard's tunables.
// None of them can lower the floor (no install, activation, download or
// upload while a case is live or its state unknown).
type guardFields struct {
	QuietPeriodMinutes int
	TimeZone           string
	Windows            []*windowFields
}

// windowFields is one maintenance window: updates activate only inside one.
type windowFields struct {
	Start           string // cron: minute hour day-of-month month day-of-week
	DurationMinutes int
	TimeZone        string // default: the section's timeZone
}

func (g *guardFields) fields() []field {
	return []field{
		{name: "quietPeriodMinutes", set: setInt(&g.QuietPeriodMinutes, minQuietPeriodMinutes, maxQuietPeriodMinutes)},
		{name: "timeZone", set: setChecked(&g.TimeZone, checkTimeZone)},
		{name: "windows", items: g.windowFields},
	}
}

// windowFields adds a window: it is called for each item of the list.
func (g *guardFields) windowFields() []field {
	w := &windowFields{}
	g.Windows = append(g.Windows, w)
	return []field{
		{name: "start", set: setString(&w.Start)},
		{name: "durationMinutes", set: setInt(&w.DurationMinutes,
			int(guard.MinWindowDuration/time.Minute), int(guard.MaxWindowDuration/time.Minute))},
		{name: "timeZone", set: setChecked(&w.TimeZone, checkTimeZone)},
	}
}

// checkTimeZone accepts an IANA zone name ("Europe/Berlin", "UTC"); the
// agent carries the zone database, so this holds on every platform.
func checkTimeZone(s string) (string, error) {
	if s == "" || s == "Local" {
		return "", fmt.Errorf("want an IANA time zone name such as Europe/Berlin or UTC, got %q", s)
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", fmt.Errorf("unknown time zone %q: want an IANA name such as Europe/Berlin or UTC", s)
	}
	return s, nil
}

// config maps the section onto guard.Config and returns the site's time
// zone. Each window is parsed by the guard's own parser, so what passes
// here is what the agent runs with.
func (g *guardFields) config(d *decoder) (guard.Config, string) {
	tz := orDefaultString(g.TimeZone, defaultTimeZone)
	cfg := guard.Config{QuietPeriod: time.Duration(orDefault(g.QuietPeriodMinutes, defaultQuietPeriodMinutes)) * time.Minute}
	for i, wf := range g.Windows {
		path := fmt.Sprintf("guard.windows[%d]", i)
		if wf.Start == "" || wf.DurationMinutes == 0 {
			if wf.Start == "" {
				d.fail(path+".start", "is required: a cron start such as \"0 2 * * 6\" (minute hour day-of-month month day-of-week)")
			}
			if wf.DurationMinutes == 0 {
				d.fail(path+".durationMinutes", "is required")
			}
			continue
		}
		w, err := guard.ParseWindow(wf.Start, time.Duration(wf.DurationMinutes)*time.Minute, orDefaultString(wf.TimeZone, tz))
		if err != nil {
			d.fail(path+".start", "%v", err)
			continue
		}
		cfg.Windows = append(cfg.Windows, w)
	}
	return cfg, tz
}
