package hubsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

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
//   - REST (here): registry, twins, methods, queries, file upload
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

// meterBy says what a REST operation is charged against the daily quota.
type meterBy uint8

const (
	meterNone     meterBy = iota // identity registry operations are not charged
	meterRequest                 // by the request body's size
	meterResponse                // by the response body's size
	meterBoth                    // request and response, each at least one message
)

// restOp is how one REST operation is throttled and metered.
type restOp struct {
	class throttle.Class
	rated bool // false: metered only (file upload notifications)
	meter meterBy
}

// restOps are the throttled operations, by the service API's route
// patterns.
var restOps = map[string]restOp{
	"GET /devices":                                 {throttle.Registry, true, meterNone},
	"GET /devices/{id}":                            {throttle.Registry, true, meterNone},
	"PUT /devices/{id}":                            {throttle.Registry, true, meterNone},
	"DELETE /devices/{id}":                         {throttle.Registry, true, meterNone},
	"POST /devices/query":                          {throttle.Queries, true, meterResponse},
	"GET /twins/{id}":                              {throttle.TwinReads, true, meterResponse},
	"PATCH /twins/{id}":                            {throttle.TwinUpdates, true, meterRequest},
	"PUT /twins/{id}":                              {throttle.TwinUpdates, true, meterRequest},
	"POST /twins/{id}/methods":                     {throttle.Methods, true, meterBoth},
	"POST /devices/{id}/files":                     {throttle.FileUpload, true, meterRequest},
	"POST /devices/{id}/files/notifications":       {0, false, meterRequest},
	"POST /devices/{id}/files/notifications/{cid}": {0, false, meterRequest},
	"POST /_sim/devices/{id}/messages":             {throttle.C2DSend, true, meterRequest},
}

// restOpMux finds a request's pattern in restOps.
var restOpMux = func() *http.ServeMux {
	m := http.NewServeMux()
	for p := range restOps {
		m.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	return m
}()

// throttleREST puts the throttle in force in front of the service API.
func (h *Hub) throttleREST(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lim := h.hook.Throttle()
		_, pattern := restOpMux.Handler(r)
		op, ok := restOps[pattern]
		if lim == nil || !ok {
			next.ServeHTTP(w, r)
			return
		}
		now := h.cfg.Now()
		if err := op.admit(lim, now, r); err != nil {
			h.cfg.Logger.Info("service request refused", "method", r.Method, "path", r.URL.Path, "err", err)
			writeThrottleError(w, err, now)
			return
		}
		mw := &meteredWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(mw, r)
		op.charge(lim, now, r, mw)
	})
}

// methodMeter is the direct-method throttle's meter: "Throttling meter
// size is 4 KB" on every tier.
const methodMeter = 4096

func (op restOp) admit(lim *throttle.Limiter, now time.Time, r *http.Request) error {
	if !op.rated {
		return lim.CheckQuota(now)
	}
	cost := 1
	if op.class == throttle.Methods {
		cost = int(throttle.Meters(int(r.ContentLength), methodMeter))
	}
	_, err := lim.Admit(now, op.class, cost)
	return err
}

// charge meters a successful operation against the daily quota.
func (op restOp) charge(lim *throttle.Limiter, now time.Time, r *http.Request, mw *meteredWriter) {
	if mw.status >= 300 {
		return
	}
	switch op.meter {
	case meterRequest:
		lim.Charge(now, int(r.ContentLength))
	case meterResponse:
		lim.Charge(now, mw.written)
	case meterBoth:
		lim.Charge(now, int(r.ContentLength))
		lim.Charge(now, mw.written)
	}
}

// meteredWriter records a response's status and body size.
type meteredWriter struct {
	http.ResponseWriter
	status  int
	written int
}

func (m *meteredWriter) WriteHeader(code int) {
	m.status = code
	m.ResponseWriter.WriteHeader(code)
}

func (m *meteredWriter) Write(b []byte) (int, error) {
	n, err := m.ResponseWriter.Write(b)
	m.written += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (m *meteredWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// writeThrottleError answers a refusal the way IoT Hub answered 403002 in
// Microsoft's reply on Q&A 3102 (PROTOCOL.md §4, "newer responses"):
// header iothub-errorcode: {Name} and the body
// {"Message":"{\"errorCode\":403002,\"trackingId\":..,\"message\":..,\"timestampUtc\":..}","ExceptionMessage":""},
// so clients that read the numeric code (C#, the agent's classifier) find it.
func writeThrottleError(w http.ResponseWriter, err error, now time.Time) {
	te := &throttle.Error{Status: http.StatusInternalServerError, Code: 500001, Name: "ServerError", Message: "internal error"}
	errors.As(err, &te)
	var id [16]byte
	rand.Read(id[:]) // never fails (crypto/rand, Go 1.24+)
	inner, _ := json.Marshal(struct {
		ErrorCode    int    `json:"errorCode"`
		TrackingID   string `json:"trackingId"`
		Message      string `json:"message"`
		TimestampUTC string `json:"timestampUtc"`
	}{te.Code, hex.EncodeToString(id[:]) + "-G:0-TimeStamp:" + now.UTC().Format("01/02/2006 15:04:05"),
		te.Message, now.UTC().Format("2006-01-02T15:04:05.0000000Z")})
	w.Header().Set("iothub-errorcode", te.Name)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(te.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Message          string
		ExceptionMessage string
	}{string(inner), ""})
}
