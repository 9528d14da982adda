package hostlink

import (
	"maps"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// TestStateScripts drives the pure core through scripts of events at
// offsets from t0 (seconds) and checks the case state after each
// (DESIGN.md decision 6: unknown counts as live).
func TestStateScripts(t *testing.T) {
	const timeout = 30 * time.Second
	type step struct {
		at    int    // seconds after t0
		event string // start, stop, beat, reject, or "" to only look
		want  device.CaseState
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"unknown before the host speaks", []step{{0, "", device.CaseUnknown}, {100, "", device.CaseUnknown}}},
		{"start is live, stop is idle", []step{{1, "start", device.CaseLive}, {2, "stop", device.CaseIdle}}},
		{"heartbeat alone does not say the case", []step{{1, "beat", device.CaseUnknown}}},
		{"silence for the timeout is unknown", []step{{0, "stop", device.CaseIdle}, {29, "", device.CaseIdle}, {30, "", device.CaseUnknown}}},
		{"heartbeats keep the link", []step{{0, "start", device.CaseLive}, {25, "beat", device.CaseLive}, {50, "beat", device.CaseLive}, {79, "", device.CaseLive}, {80, "", device.CaseUnknown}}},
		{"after a lapse the old case is forgotten", []step{{0, "stop", device.CaseIdle}, {40, "beat", device.CaseUnknown}, {41, "stop", device.CaseIdle}}},
		{"a rejected case request is unknown", []step{{0, "stop", device.CaseIdle}, {1, "reject", device.CaseUnknown}, {2, "beat", device.CaseUnknown}, {3, "start", device.CaseLive}}},
		{"a case request refreshes the link", []step{{0, "start", device.CaseLive}, {20, "start", device.CaseLive}, {49, "", device.CaseLive}, {50, "", device.CaseUnknown}}},
		{"a clock that steps back keeps the state", []step{{10, "start", device.CaseLive}, {5, "", device.CaseLive}}},
	}
	t0 := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newState(timeout, t0)
			for i, st := range tc.steps {
				now := t0.Add(time.Duration(st.at) * time.Second)
				switch st.event {
				case "start":
					s.setCase(now, device.CaseLive)
				case "stop":
					s.setCase(now, device.CaseIdle)
				case "beat":
					s.heartbeat(now, StatusOK, nil)
				case "reject":
					s.reject(now)
				}
				if got := s.caseState(now); got != st.want {
					t.Fatalf("step %d (%s at +%ds): caseState = %v, want %v", i, st.event, st.at, got, st.want)
				}
			}
		})
	}
}

func TestStateSinceMarksTheChange(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	s := newState(30*time.Second, t0)
	if got := s.sinceAt(at(5)); !got.Equal(t0) {
		t.Fatalf("since before any contact = %v, want creation %v", got, t0)
	}
	s.setCase(at(10), device.CaseLive)
	s.setCase(at(20), device.CaseLive) // repeated start: no change
	if got := s.sinceAt(at(21)); !got.Equal(at(10)) {
		t.Fatalf("since after repeated start = %v, want %v", got, at(10))
	}
	if got := s.sinceAt(at(60)); !got.Equal(at(50)) {
		t.Fatalf("since after lapse = %v, want the lapse %v", got, at(50))
	}
	s.heartbeat(at(70), StatusOK, nil)
	if got := s.sinceAt(at(70)); !got.Equal(at(50)) {
		t.Fatalf("since after a heartbeat ends the lapse = %v, want %v (still unknown)", got, at(50))
	}
}

func TestStateMetrics(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	s := newState(30*time.Second, t0)
	want := map[string]any{MetricHostStatus: StatusUnknown}
	if got := s.hostMetrics(t0); !maps.Equal(got, want) {
		t.Fatalf("metrics before heartbeat = %v, want %v", got, want)
	}
	s.heartbeat(t0, StatusDegraded, map[string]any{"fanRpm": int64(1200), "mode": "mapping"})
	got := s.hostMetrics(t0.Add(time.Second))
	want = map[string]any{"fanRpm": int64(1200), "mode": "mapping", MetricHostStatus: StatusDegraded}
	if !maps.Equal(got, want) {
		t.Fatalf("metrics = %v, want %v", got, want)
	}
	got["fanRpm"] = 0 // the caller's copy
	if again := s.hostMetrics(t0); again["fanRpm"] != int64(1200) {
		t.Fatalf("Metrics handed out its own map: %v", again)
	}
	want = map[string]any{MetricHostStatus: StatusUnknown}
	if got := s.hostMetrics(t0.Add(30 * time.Second)); !maps.Equal(got, want) {
		t.Fatalf("metrics after lapse = %v, want %v", got, want)
	}
}
