package logship

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/twin"
)

// Names the agent exposes for this package.
const (
	MethodUploadLogs    = "uploadLogs"               // direct method: request an upload
	PropInterval        = "logUploadIntervalSeconds" // desired: scheduled upload period, 0 = off
	PropBytesPerSecond  = "logUploadBytesPerSecond"  // desired: bandwidth cap, 0 = none
	ReportedUploads     = "logUploads"               // reported: {<jobId>: status}
	MaxScheduleInterval = 7 * 24 * time.Hour
	MinScheduleInterval = time.Minute
)

// methodRequest is the uploadLogs payload; every field is optional.
type methodRequest struct {
	From    *time.Time `json:"from"`
	To      *time.Time `json:"to"`
	Sources []string   `json:"sources"`
}

// HandleMethod serves the direct method uploadLogs: payload
// {"from": RFC 3339, "to": RFC 3339, "sources": ["device", "cases:case-17"]},
// every field optional (an empty payload or null uploads everything).
// It answers at once: 200 {"jobId": ".."}, or 400 {"error": ".."} for a
// payload it cannot read. Progress and the result go to the twin.
func (s *Shipper) HandleMethod(payload []byte) (status int, response []byte) {
	var req methodRequest
	if p := bytes.TrimSpace(payload); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return answer(400, "error", "payload must be {\"from\",\"to\",\"sources\"}: "+clip(err.Error(), 120))
		}
	}
	var from, to time.Time
	if req.From != nil {
		from = *req.From
	}
	if req.To != nil {
		to = *req.To
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return answer(400, "error", "to is before from")
	}
	if err := s.checkSources(req.Sources); err != nil {
		return answer(400, "error", err.Error())
	}
	return answer(200, "jobId", s.Request(from, to, req.Sources))
}

// UploadLogsMethod is HandleMethod for a payload the device SDK already
// decoded: the shape of hub.MethodHandler, so the agent registers it as
// the direct method MethodUploadLogs directly.
func (s *Shipper) UploadLogsMethod(payload map[string]any) (status int, response map[string]any) {
	b, err := json.Marshal(payload)
	if err != nil {
		return 400, map[string]any{"error": "payload is not JSON"}
	}
	status, body := s.HandleMethod(b)
	_ = json.Unmarshal(body, &response) // answer() always writes an object
	return status, response
}

func answer(status int, key, value string) (int, []byte) {
	b, _ := json.Marshal(map[string]string{key: value})
	return status, b
}

// Properties are the desired properties this package handles, for the
// agent's twin reconciler: the schedule period and the bandwidth cap.
// scheduled names the sources of scheduled uploads (empty: every source).
func (s *Shipper) Properties(scheduled []string) []twin.Property {
	return []twin.Property{
		{
			Name: PropInterval, Section: "logs",
			Apply: func(raw any) (any, error) {
				d, err := twin.Seconds(PropInterval, raw, 0, MaxScheduleInterval)
				if err == nil && d > 0 && d < MinScheduleInterval {
					err = fmt.Errorf("%s must be 0 (off) or at least %d", PropInterval, int64(MinScheduleInterval.Seconds()))
				}
				if err == nil {
					err = s.SetSchedule(d, scheduled)
				}
				if err != nil {
					return nil, err
				}
				return int64(d / time.Second), nil
			},
			Current: func() any { return int64(s.interval() / time.Second) },
		},
		{
			Name: PropBytesPerSecond, Section: "logs",
			Apply: func(raw any) (any, error) {
				f, ok := number(raw)
				if !ok || f < 0 || f > math.MaxInt32 || f != math.Trunc(f) {
					return nil, fmt.Errorf("%s must be a whole number of bytes per second (0: no cap), got %s", PropBytesPerSecond, twin.Describe(raw))
				}
				s.SetBandwidth(int64(f))
				return int64(f), nil
			},
			Current: func() any { return s.limit.rate() },
		},
	}
}

func (s *Shipper) interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sched.Interval
}

// number reads a desired JSON number (float64, or json.Number when the
// agent decodes with UseNumber).
func number(raw any) (float64, bool) {
	switch x := raw.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
