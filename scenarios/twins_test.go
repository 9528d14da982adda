package scenarios

import (
	"testing"
	"time"
)

func TestTwinTrackerCountsAcksWhetherTheyArriveBeforeOrAfterThePushIsRecorded(t *testing.T) {
	tr := newTwinTracker()
	t0 := time.Now()
	patch := map[string]any{"telemetryIntervalSeconds": 2}
	// The device answers inside UpdateDesired, before the runner records the push.
	tr.onReported("early", 3, []byte(`{"telemetryIntervalSeconds":{"value":2,"ac":200,"av":2}}`))
	tr.pushed("early", 2, patch, t0)
	// The usual order.
	tr.pushed("late", 5, patch, t0)
	tr.onReported("late", 9, []byte(`{"telemetryIntervalSeconds":{"value":2,"ac":200,"av":5}}`))
	// Rejected and stale acknowledgements do not count.
	tr.pushed("rejected", 4, patch, t0)
	tr.onReported("rejected", 2, []byte(`{"telemetryIntervalSeconds":{"value":1,"ac":400,"av":4}}`))
	tr.onReported("rejected", 3, []byte(`{"telemetryIntervalSeconds":{"value":1,"ac":200,"av":3}}`))
	tr.onReported("rejected", 4, []byte(`not json`))

	pushes, acked, lat := tr.figures()
	if pushes != 3 || acked != 2 || len(lat) != 2 || tr.allAcknowledged() {
		t.Fatalf("pushes %d acked %d latencies %v", pushes, acked, lat)
	}
	for _, ms := range lat {
		if ms < 0 {
			t.Fatalf("negative latency %v", ms)
		}
	}
}

func TestTwinTrackerFindsAcksAmongReadOnlyProperties(t *testing.T) {
	tr := newTwinTracker()
	tr.pushed("d", 2, map[string]any{"telemetryIntervalSeconds": 2}, time.Now())
	tr.onReported("d", 5, []byte(`{"agentVersion":"1.0","bootCount":3,"telemetryIntervalSeconds":{"value":2,"ac":200,"av":2}}`))
	if !tr.allAcknowledged() {
		t.Fatal("acknowledgement beside read-only properties was missed")
	}
}
