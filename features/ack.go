package features

import (
	"encoding/json"
	"fmt"
	"math"
)

// twinPropTelemetryInterval is the writable property the scenarios change.
const twinPropTelemetryInterval = "telemetryIntervalSeconds"

// ack is a writable property's acknowledgement as the hub's twin holds it
// (IoT Plug and Play: {"value", "ac", "av", "ad"}).
type ack struct {
	Value       any
	Code        int
	Version     int
	Description string
}

func (a ack) String() string {
	return fmt.Sprintf(`{"value": %v, "ac": %d, "av": %d, "ad": %q}`, a.Value, a.Code, a.Version, a.Description)
}

// ack reads the reported acknowledgement of the named property of the
// scenario's device from the hub's twin.
func (w *world) ack(name string) (ack, error) {
	d, err := w.only()
	if err != nil {
		return ack{}, err
	}
	tw, err := w.hub.Twin(d.ID)
	if err != nil {
		return ack{}, fmt.Errorf("twin of %s: %w", d.ID, err)
	}
	raw, ok := tw.Reported.Props[name]
	if !ok {
		return ack{}, fmt.Errorf("twin of %s has no reported %q", d.ID, name)
	}
	return parseAck(raw)
}

func parseAck(raw any) (ack, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return ack{}, fmt.Errorf("reported property is %T, not an acknowledgement object", raw)
	}
	code, okCode := integer(m["ac"])
	ver, okVer := integer(m["av"])
	if !okCode || !okVer {
		return ack{}, fmt.Errorf("acknowledgement %v lacks integer \"ac\" and \"av\"", m)
	}
	a := ack{Value: m["value"], Code: int(code), Version: int(ver)}
	if ad, ok := m["ad"].(string); ok {
		a.Description = ad
	}
	return a, nil
}

// integer converts a JSON number (float64, json.Number or a Go integer)
// holding a whole value.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case float64:
		return int64(x), x == math.Trunc(x)
	case int:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}
