package twin

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Property names the agent accepts.
const (
	PropTelemetryInterval = "telemetryIntervalSeconds"
)

// Bounds of telemetryIntervalSeconds.
const (
	MinTelemetryInterval = time.Second
	MaxTelemetryInterval = 24 * time.Hour
)

// Acknowledgement codes (IoT Plug and Play "ac").
const (
	ACApplied  = 200
	ACRejected = 400
)

// Ack is a writable property's reported acknowledgement.
type Ack struct {
	Value       any    `json:"value"`
	Code        int    `json:"ac"`
	Version     int    `json:"av"`
	Description string `json:"ad,omitempty"`
}

// Settings are the values in force.
type Settings struct {
	TelemetryInterval time.Duration
}

// Reconciler tracks the desired version last applied and the settings in
// force.
type Reconciler struct {
	settings Settings
	version  int // desired $version last applied; 0 = none yet
}

// New returns a reconciler starting from the given settings.
func New(s Settings) *Reconciler {
	return &Reconciler{settings: s}
}

// Settings returns the values in force.
func (r *Reconciler) Settings() Settings { return r.settings }

// Version is the desired $version last applied.
func (r *Reconciler) Version() int { return r.version }

// Apply applies a desired document (a patch notification or the desired
// section of a full twin). Documents whose $version is not newer than the
// last applied one are ignored (PROTOCOL.md §2.3). It returns the reported
// patch to send (nil when there is nothing to acknowledge).
func (r *Reconciler) Apply(desired map[string]any) map[string]any {
	v, ok := version(desired)
	if !ok || v <= r.version {
		return nil
	}
	r.version = v
	patch := map[string]any{}
	if raw, present := desired[PropTelemetryInterval]; present {
		patch[PropTelemetryInterval] = r.applyInterval(raw, v)
	}
	if len(patch) == 0 {
		return nil
	}
	return patch
}

func (r *Reconciler) applyInterval(raw any, v int) Ack {
	d, err := parseInterval(raw)
	if err != nil {
		return Ack{
			Value:       int64(r.settings.TelemetryInterval / time.Second),
			Code:        ACRejected,
			Version:     v,
			Description: err.Error(),
		}
	}
	r.settings.TelemetryInterval = d
	return Ack{Value: int64(d / time.Second), Code: ACApplied, Version: v}
}

func parseInterval(raw any) (time.Duration, error) {
	var f float64
	switch x := raw.(type) {
	case float64:
		f = x
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, fmt.Errorf("%s must be a number of seconds, got %q", PropTelemetryInterval, x)
		}
	default:
		return 0, fmt.Errorf("%s must be an integer number of seconds, got %s", PropTelemetryInterval, describe(raw))
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("%s must be a whole number of seconds, got %v", PropTelemetryInterval, f)
	}
	d := time.Duration(f) * time.Second
	if f < MinTelemetryInterval.Seconds() || f > MaxTelemetryInterval.Seconds() {
		return 0, fmt.Errorf("%s must be between %d and %d, got %v", PropTelemetryInterval,
			int(MinTelemetryInterval.Seconds()), int(MaxTelemetryInterval.Seconds()), f)
	}
	return d, nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func version(doc map[string]any) (int, bool) {
	switch x := doc["$version"].(type) {
	case float64:
		return int(x), true
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}
