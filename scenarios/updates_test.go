package scenarios

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports"
)

// TestUpdateRolloutDefersDuringCases rolls an update out to a small fleet
// while half of it runs patient cases: every device installs it, none
// activates or works on it during its case (REQ-PF-001, REQ-PF-002 in a
// fleet).
func TestUpdateRolloutDefersDuringCases(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a fleet for several seconds")
	}
	sc, err := Parse("rollout.yaml", []byte(`
name: rollout
seed: 5
devices: 6
duration: 12s
stagger: 300ms
keepAliveSeconds: 2
backoff: {base: 100ms, cap: 1s}
drainTimeout: 40s
timeScale: 20
guard: {quietPeriod: 1m, lease: 2m}
events:
  - at: 1s
    cases: {share: 0.5}
    for: 6s
  - at: 2s
    update: {share: 1, version: "7.3.0", sizeKiB: 32}
`))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), sc, Options{Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum.Updates)
	t.Logf("updates: %s", b)
	if sum.Verdict != reports.VerdictPass {
		t.Fatalf("verdict %s: %v", sum.Verdict, sum.Failures)
	}
	held := false
	for _, e := range sum.Timeline {
		held = held || e.Kind == "update" && strings.Contains(e.Detail, "(3 in a patient case)")
	}
	if !held {
		t.Fatalf("timeline %+v: want the update offered to 3 devices in a case", sum.Timeline)
	}
	want := reports.Updates{Offered: 6, Installed: 6}
	if sum.Updates != want {
		t.Fatalf("updates = %+v, want %+v", sum.Updates, want)
	}
}
