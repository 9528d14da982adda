package reportstest

import (
	"time"

	"github.com/cloudpillar/cloudpillar/reports"
)

// StartedAt is the fixed start time of the fixture summaries.
var StartedAt = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// Failing returns a fully populated summary of a failing run: not all
// devices connected (with no failure entry for it), telemetry lost (with an
// entry named after its criterion) and an activation during a case (with an
// entry no criterion covers). Each call returns a fresh value.
func Failing() *reports.Summary {
	s := Passing()
	s.Verdict = reports.VerdictFail
	s.Failures = []string{
		"no telemetry lost: 3 messages lost after drain",
		"updates: 1 activation during a patient case",
	}
	s.Connect.Connected = 98
	s.Telemetry.Delivered -= 3
	s.Telemetry.Lost = 3
	s.Updates.ActivationsDuringCase = 1
	return s
}

// Passing returns a fully populated summary of a passing run.
func Passing() *reports.Summary {
	return &reports.Summary{
		Scenario:        "hospital-day",
		Seed:            42,
		Devices:         100,
		DurationSeconds: 60,
		Verdict:         reports.VerdictPass,
		Failures:        []string{},
		Connect:         reports.Connect{Connected: 100, Provisioned: 100, TimeToAllConnectedSeconds: 1.75},
		Telemetry: reports.Telemetry{
			Sent: 12000, Delivered: 12000, Duplicates: 4,
			Throughput: reports.Throughput{MessagesPerSecond: 200},
		},
		Twin: reports.Twin{
			DesiredUpdates: 300, Acknowledged: 300,
			SyncLatencyMs: reports.Percentiles{P50: 4.2, P95: 18.5, P99: 41},
		},
		Updates:   reports.Updates{Offered: 100, Installed: 97, Rejected: 2, RolledBack: 1},
		Logs:      reports.Logs{Requested: 10, Delivered: 10, Bytes: 5 << 20},
		Chaos:     reports.Chaos{Partitions: 2, HubRestarts: 1, PowerLosses: 3, Cases: 12},
		Resources: reports.Resources{PeakHeapBytes: 96 << 20, PeakRSSBytes: 180 << 20, CPUSeconds: 31.4, Goroutines: 2210},
		StartedAt: StartedAt,
		Timeline:  timeline(),
		Samples:   samples(),
		Throttling: &reports.Throttling{Tier: "S1", Units: 1,
			Throttled: map[string]int64{"twinUpdates": 12}, Shaped: map[string]int64{"d2cSends": 340}},
	}
}

func timeline() []reports.TimelineEvent {
	at := func(d time.Duration) time.Time { return StartedAt.Add(d) }
	return []reports.TimelineEvent{
		{At: at(5 * time.Second), Kind: "case-start", Site: "st-mary", Detail: "devices 1-10"},
		{At: at(12500 * time.Millisecond), Kind: "partition", Site: "st-mary", Detail: "blackhole both directions"},
		{At: at(20 * time.Second), Kind: "heal", Site: "st-mary", Detail: ""},
		{At: at(31 * time.Second), Kind: "hub-restart", Site: "", Detail: "graceful"},
		{At: at(45 * time.Second), Kind: "power-loss", Site: "city-general", Detail: "device 7 <during install>"},
	}
}

func samples() []reports.Sample {
	var out []reports.Sample
	connected := []int{0, 60, 100, 100, 80, 80, 100, 100, 100, 100, 100, 100, 100}
	for i, c := range connected {
		out = append(out, reports.Sample{
			ElapsedSeconds: float64(i * 5),
			Connected:      c,
			Delivered:      int64(i * 1000),
			HeapBytes:      uint64(40+4*i) << 20,
			RSSBytes:       uint64(100+6*i) << 20,
		})
	}
	return out
}
