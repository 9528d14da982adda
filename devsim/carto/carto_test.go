package carto

import (
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

func TestCaseLifecycleIsReportedToTheAgent(t *testing.T) {
	d := New(1)
	if d.CaseState() != device.CaseIdle {
		t.Fatalf("new device state = %v, want idle", d.CaseState())
	}
	d.StartCase()
	d.StartCase() // already live: not a second case
	if d.CaseState() != device.CaseLive || d.Cases() != 1 {
		t.Fatalf("state %v cases %d, want live 1", d.CaseState(), d.Cases())
	}
	d.EndCase()
	if d.CaseState() != device.CaseIdle {
		t.Fatalf("after EndCase state = %v", d.CaseState())
	}
}

func TestMetricsAreSeeded(t *testing.T) {
	a, b := New(42).Metrics(), New(42).Metrics()
	if a["catheterTempC"] != b["catheterTempC"] {
		t.Fatalf("same seed, different metrics: %v vs %v", a, b)
	}
}
