package carto

import (
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

func TestLoseCaseStateReportsUnknownUntilTheNextCaseChange(t *testing.T) {
	d := New(1)
	d.LoseCaseState()
	if got := d.CaseState(); got != device.CaseUnknown {
		t.Fatalf("CaseState after LoseCaseState = %v, want unknown", got)
	}
	d.EndCase()
	if got := d.CaseState(); got != device.CaseIdle {
		t.Fatalf("CaseState after EndCase = %v, want idle", got)
	}
}
