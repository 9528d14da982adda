package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/twin"
)

// PropMaintenanceWindows is the writable property that sets when updates
// may activate: [{"start": "<cron: min hour dom month dow>",
// "durationMinutes": n, "timeZone": "Europe/Berlin"}]. Windows only narrow
// what the patient-first guard allows; they never open work during a case.
const PropMaintenanceWindows = "maintenanceWindows"

// maxWindows bounds how many windows the twin may set.
const maxWindows = 16

// windowsProperty is the maintenanceWindows handler. A rejected value
// leaves the windows in force.
func (a *Agent) windowsProperty() twin.Property {
	return twin.Property{
		Name:    PropMaintenanceWindows,
		Section: "maintenance",
		Apply: func(raw any) (any, error) {
			ws, err := parseWindows(raw)
			if err != nil {
				return nil, err
			}
			a.gate.SetWindows(ws)
			a.windows.Store(&raw)
			return raw, nil
		},
		Current: func() any {
			if p := a.windows.Load(); p != nil {
				return *p
			}
			return []any{}
		},
	}
}

func parseWindows(raw any) ([]guard.Window, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an array of windows, got %s", PropMaintenanceWindows, twin.Describe(raw))
	}
	if len(list) > maxWindows {
		return nil, fmt.Errorf("%s: at most %d windows, got %d", PropMaintenanceWindows, maxWindows, len(list))
	}
	var out []guard.Window
	for i, item := range list {
		w, err := parseWindow(item)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", PropMaintenanceWindows, i, err)
		}
		out = append(out, w)
	}
	return out, nil
}

func parseWindow(item any) (guard.Window, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return guard.Window{}, fmt.Errorf("must be an object, got %s", twin.Describe(item))
	}
	start, _ := m["start"].(string)
	tz, _ := m["timeZone"].(string)
	if start == "" {
		return guard.Window{}, errors.New("start must be a cron expression such as \"0 2 * * *\"")
	}
	// Seconds checks a whole number in range; here the unit is minutes (1 min to 1 week).
	d, err := twin.Seconds("durationMinutes", m["durationMinutes"], time.Second, 7*24*60*time.Second)
	if err != nil {
		return guard.Window{}, err
	}
	return guard.ParseWindow(start, d*60, tz)
}
