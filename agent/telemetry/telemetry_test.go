package telemetry

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMessageIDFormat(t *testing.T) {
	if got := MessageID("dev-7", 3, 12); got != "dev-7-3-12" {
		t.Fatalf("MessageID = %q, want dev-7-3-12", got)
	}
}

func TestBuildSetsJSONContentProperties(t *testing.T) {
	m, err := Build("d-1-1", Sample{DeviceID: "d", Seq: 1, Time: time.Unix(0, 0).UTC(), CaseState: "idle"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Properties["$.ct"] != "application/json" || m.Properties["$.ce"] != "utf-8" {
		t.Fatalf("properties = %v", m.Properties)
	}
	var back Sample
	if err := json.Unmarshal(m.Payload, &back); err != nil || back.Seq != 1 {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
}
