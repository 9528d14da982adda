package htmlreport

import (
	"fmt"
	"maps"
	"slices"

	"github.com/cloudpillar/cloudpillar/reports"
)

// section is one table of figures.
type section struct {
	Title string
	Rows  []row
}

// row is one figure; Bad marks a value that breaks a run criterion.
type row struct {
	Label string
	Value string
	Bad   bool
}

func sections(s *reports.Summary) []section {
	return []section{
		connectSection(s),
		telemetrySection(s.Telemetry),
		twinSection(s.Twin),
		updatesSection(s.Updates),
		logsSection(s.Logs),
		chaosSection(s.Chaos),
		throttlingSection(s.Throttling),
		resourcesSection(s.Resources),
	}
}

func connectSection(s *reports.Summary) section {
	c := s.Connect
	return section{"Connect", []row{
		{"Connected", count(int64(c.Connected)) + " of " + count(int64(s.Devices)), c.Connected < s.Devices},
		{"Provisioned", count(int64(c.Provisioned)), false},
		{"Time to all connected", seconds(c.TimeToAllConnectedSeconds), false},
	}}
}

func telemetrySection(t reports.Telemetry) section {
	return section{"Telemetry", []row{
		{"Sent", count(t.Sent), false},
		{"Delivered", count(t.Delivered), false},
		{"Lost", count(t.Lost), t.Lost != 0},
		{"Duplicates", count(t.Duplicates), false},
		{"Throughput", decimal(t.MessagesPerSecond) + " messages/s", false},
	}}
}

func twinSection(t reports.Twin) section {
	return section{"Twin", []row{
		{"Desired updates", count(t.DesiredUpdates), false},
		{"Acknowledged", count(t.Acknowledged), t.Acknowledged != t.DesiredUpdates},
		{"Sync latency p50", millis(t.SyncLatencyMs.P50), false},
		{"Sync latency p95", millis(t.SyncLatencyMs.P95), false},
		{"Sync latency p99", millis(t.SyncLatencyMs.P99), false},
	}}
}

func updatesSection(u reports.Updates) section {
	return section{"Updates", []row{
		{"Offered", count(u.Offered), false},
		{"Installed", count(u.Installed), false},
		{"Rejected", count(u.Rejected), false},
		{"Rolled back", count(u.RolledBack), false},
		{"Activations during a case", count(u.ActivationsDuringCase), u.ActivationsDuringCase != 0},
		{"Disruptive time during cases", seconds(u.DisruptiveSecondsDuringCase), u.DisruptiveSecondsDuringCase != 0},
	}}
}

func logsSection(l reports.Logs) section {
	return section{"Logs", []row{
		{"Requested", count(l.Requested), false},
		{"Delivered", count(l.Delivered), false},
		{"Bytes", byteSize(uint64(max(l.Bytes, 0))), false},
		{"Integrity failures", count(l.IntegrityFailures), l.IntegrityFailures != 0},
	}}
}

func chaosSection(c reports.Chaos) section {
	return section{"Chaos", []row{
		{"Partitions", count(int64(c.Partitions)), false},
		{"Hub restarts", count(int64(c.HubRestarts)), false},
		{"Power losses", count(int64(c.PowerLosses)), false},
		{"Patient cases", count(int64(c.Cases)), false},
	}}
}

// throttlingSection lists a throttled hub's refusals and shaped
// operations by class; without a tier it says the hub did not throttle.
func throttlingSection(t *reports.Throttling) section {
	if t == nil {
		return section{"Hub throttling", []row{{"Tier", "none (no throttling)", false}}}
	}
	rows := []row{{"Tier", fmt.Sprintf("%s × %d", t.Tier, max(t.Units, 1)), false}}
	for _, c := range slices.Sorted(maps.Keys(t.Throttled)) {
		rows = append(rows, row{"Refused (429): " + c, count(t.Throttled[c]), false})
	}
	for _, c := range slices.Sorted(maps.Keys(t.Shaped)) {
		rows = append(rows, row{"Shaped: " + c, count(t.Shaped[c]), false})
	}
	rows = append(rows, row{"Daily quota refusals (403002)", count(t.QuotaExceeded), false})
	return section{"Hub throttling", rows}
}

func resourcesSection(r reports.Resources) section {
	return section{"Resources", []row{
		{"Peak heap", byteSize(r.PeakHeapBytes), false},
		{"Peak RSS", byteSize(r.PeakRSSBytes), false},
		{"CPU time", seconds(r.CPUSeconds), false},
		{"Goroutines", count(int64(r.Goroutines)), false},
	}}
}
