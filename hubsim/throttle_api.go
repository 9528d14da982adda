package hubsim

import (
	"fmt"

	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
)

// Throttling (Config.Throttle) as devices and service clients see it:
//   - MQTT (broker/throttle.go): a CONNECT over the new-connection rate gets
//     CONNACK 0x03 server unavailable; a twin GET or reported PATCH over its
//     rate gets `$iothub/twin/res/429/?$rid=..` with
//     {"errorCode":429001,"message":..}, over the daily quota 403 with
//     errorCode 403002; telemetry over the D2C rate is held before its
//     PUBACK for up to throttle.Config.ShapingDelay (traffic shaping), and
//     past that, or over the daily quota, the hub closes the connection
//     (MQTT has no per-message error).
//   - REST (service/throttle.go, on the service API's routes): registry, twins, methods, queries, file upload
//     initiations and hubsim's C2D send (/_sim/devices/{id}/messages, which
//     stands in for the AMQP send) over their rate answer HTTP 429 with
//     `iothub-errorcode: ThrottlingException`; every one of them, and file
//     upload notifications, answer 403 `IotHubQuotaExceeded` (403002) once
//     the daily quota is used up ("All requests to IoT Hub fail with the
//     error 403002"). The body is IoT Hub's newer error format, with the
//     numeric code (writeThrottleError).
//   - Metering (iot-hub-devguide-pricing.md): telemetry by size with its
//     properties, twin reads and query results by response size, twin
//     updates and C2D by request size, file upload initiations and
//     notifications one message each (4 KB chunks; 0.5 KB on F1), direct
//     methods request and response at least one message each; registry
//     operations are free. Only successful (2xx) REST calls are charged.
//     The rest of /_sim/ and the Go API are neither throttled nor metered.

// SetThrottle turns throttling on with cfg, or off with nil, while the hub
// runs. A new tier starts with full buckets and an empty daily count.
func (h *Hub) SetThrottle(cfg *throttle.Config) error {
	lim, err := newLimiter(cfg)
	if err != nil {
		return err
	}
	h.hook.SetThrottle(lim)
	return nil
}

// ThrottleStats returns the counters of the throttle in force since it was
// set (operations refused with 429 or 403002, operations shaped, messages
// metered today); the zero Stats when throttling is off.
func (h *Hub) ThrottleStats() throttle.Stats {
	if lim := h.hook.Throttle(); lim != nil {
		return lim.Stats()
	}
	return throttle.Stats{}
}

func newLimiter(cfg *throttle.Config) (*throttle.Limiter, error) {
	if cfg == nil {
		return nil, nil
	}
	lim, err := throttle.New(*cfg)
	if err != nil {
		return nil, fmt.Errorf("hub throttle: %w", err)
	}
	return lim, nil
}
