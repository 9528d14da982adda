package twin

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// PropTelemetryInterval is the desired telemetry sampling period in seconds.
const PropTelemetryInterval = "telemetryIntervalSeconds"

// Bounds of telemetryIntervalSeconds.
const (
	MinTelemetryInterval = time.Second
	MaxTelemetryInterval = 24 * time.Hour
)

// Seconds parses a whole number of seconds within [lo, hi] from a desired
// JSON value; the error names the property and what was wrong.
func Seconds(name string, raw any, lo, hi time.Duration) (time.Duration, error) {
	var f float64
	switch x := raw.(type) {
	case float64:
		f = x
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, fmt.Errorf("%s must be a number of seconds, got %q", name, x)
		}
	default:
		return 0, fmt.Errorf("%s must be an integer number of seconds, got %s", name, Describe(raw))
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("%s must be a whole number of seconds, got %v", name, f)
	}
	if f < lo.Seconds() || f > hi.Seconds() {
		return 0, fmt.Errorf("%s must be between %d and %d, got %v", name, int64(lo.Seconds()), int64(hi.Seconds()), f)
	}
	return time.Duration(f) * time.Second, nil
}

// IntervalProperty is the telemetryIntervalSeconds handler: get returns the
// interval in force and set changes it.
func IntervalProperty(get func() time.Duration, set func(time.Duration)) Property {
	return Property{
		Name:    PropTelemetryInterval,
		Section: "telemetry",
		Apply: func(raw any) (any, error) {
			d, err := Seconds(PropTelemetryInterval, raw, MinTelemetryInterval, MaxTelemetryInterval)
			if err != nil {
				return nil, err
			}
			set(d)
			return int64(d / time.Second), nil
		},
		Current: func() any { return int64(get() / time.Second) },
	}
}
