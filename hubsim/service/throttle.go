package service

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
)

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

// restOps are the throttled operations, by their route patterns in
// routes(); a pattern here that is no route fails TestThrottledRoutesExist.
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

// throttled puts the throttle in force in front of the operation of
// pattern: when Config.Throttle has a limiter, a request over its class's
// rate (or the daily quota) is refused before anything else is checked,
// and a successful one is metered against the daily quota.
func (h *Handler) throttled(pattern string, next http.Handler) http.Handler {
	op, ok := restOps[pattern]
	if !ok || h.cfg.Throttle == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lim := h.cfg.Throttle()
		if lim == nil {
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
