package scenarios

import (
	"context"
	"log/slog"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports"
)

// TestRunThroughAPartitionLosesNothingAndPasses runs a small fleet for real:
// one site is cut off while its devices' twins change, then heals.
func TestRunThroughAPartitionLosesNothingAndPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a fleet for several seconds")
	}
	sc, err := Parse("small.yaml", []byte(`
name: small
seed: 3
devices: 6
sites: 2
duration: 8s
stagger: 500ms
keepAliveSeconds: 2
backoff: {base: 100ms, cap: 1s}
drainTimeout: 30s
provision: true
events:
  - at: 2s
    partition: site-02
    for: 4s
  - at: 3s
    desired: {telemetryIntervalSeconds: 2}
  - at: 1s
    cases: {share: 0.5}
    for: 3s
`))
	if err != nil {
		t.Fatal(err)
	}
	var snapshots int
	sum, err := Run(context.Background(), sc, Options{Progress: func(Progress) { snapshots++ }, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Verdict != reports.VerdictPass {
		t.Fatalf("verdict %s: %v", sum.Verdict, sum.Failures)
	}
	if sum.Connect.Connected != 6 || sum.Telemetry.Lost != 0 || sum.Telemetry.Sent == 0 ||
		sum.Telemetry.Delivered < sum.Telemetry.Sent || sum.Twin.DesiredUpdates != 6 || sum.Twin.Acknowledged != 6 {
		t.Fatalf("summary = %+v", sum)
	}
	if sum.Connect.Provisioned != 6 || sum.Chaos.Cases != 3 {
		t.Fatalf("provisioned %d, cases %d; want 6 and 3", sum.Connect.Provisioned, sum.Chaos.Cases)
	}
	if sum.Chaos.Partitions != 1 || len(sum.Timeline) < 3 || len(sum.Samples) == 0 || snapshots == 0 {
		t.Fatalf("chaos %+v timeline %d samples %d snapshots %d", sum.Chaos, len(sum.Timeline), len(sum.Samples), snapshots)
	}
}
