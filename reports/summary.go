package reports

import (
	"encoding/json"
	"time"
)

// Verdicts a Summary may carry.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
)

// Summary is the content of summary.json (DESIGN.md §4). Field names and
// JSON keys of the schema must never change; new fields may be added.
type Summary struct {
	Scenario        string  `json:"scenario"`
	Seed            int64   `json:"seed"`
	Devices         int     `json:"devices"`
	DurationSeconds float64 `json:"durationSeconds"`
	// Verdict is VerdictPass or VerdictFail, decided by the caller.
	Verdict string `json:"verdict"`
	// Failures explains a failing verdict, one entry per broken criterion.
	// Written as [] when empty.
	Failures []string `json:"failures"`

	Connect   Connect   `json:"connect"`
	Telemetry Telemetry `json:"telemetry"`
	Twin      Twin      `json:"twin"`
	Updates   Updates   `json:"updates"`
	Logs      Logs      `json:"logs"`
	Chaos     Chaos     `json:"chaos"`
	Resources Resources `json:"resources"`

	// Additions beyond the §4 list.

	// StartedAt is when the run started; Timeline offsets are relative to it.
	StartedAt time.Time `json:"startedAt"`
	// Timeline lists chaos and patient-case events in time order.
	Timeline []TimelineEvent `json:"timeline"`
	// Samples are periodic fleet figures for charts, in time order.
	Samples []Sample `json:"samples"`
	// Throttling is what the hub refused or delayed when the scenario
	// gave it an IoT Hub tier (hub.tier); nil without one.
	Throttling *Throttling `json:"throttling,omitempty"`
}

// Throttling reports a throttled hub's refusals, by operation class
// (hubsim/throttle's class names: d2cSends, twinReads, ...).
type Throttling struct {
	Tier  string `json:"tier"`
	Units int    `json:"units"`
	// Throttled counts operations refused with 429 (for device telemetry:
	// connections closed after shaping could not absorb the rate).
	Throttled map[string]int64 `json:"throttled"`
	// Shaped counts operations admitted after waiting (traffic shaping).
	Shaped map[string]int64 `json:"shaped"`
	// QuotaExceeded counts operations refused with 403002 (daily quota).
	QuotaExceeded int64 `json:"quotaExceeded"`
}

// Connect reports how the fleet came online.
type Connect struct {
	Connected                 int     `json:"connected"`
	Provisioned               int     `json:"provisioned"`
	TimeToAllConnectedSeconds float64 `json:"timeToAllConnectedSeconds"`
}

// Telemetry counts device-to-cloud messages. Lost counts messages the agent
// accepted but the hub never recorded after the run drained; it must be 0.
type Telemetry struct {
	Sent       int64 `json:"sent"`
	Delivered  int64 `json:"delivered"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	Throughput
}

// Throughput is the delivered message rate, written inside telemetry.
type Throughput struct {
	MessagesPerSecond float64 `json:"messagesPerSecond"`
}

// Twin reports desired-property changes and their acknowledgement.
type Twin struct {
	DesiredUpdates int64       `json:"desiredUpdates"`
	Acknowledged   int64       `json:"acknowledged"`
	SyncLatencyMs  Percentiles `json:"syncLatencyMs"`
}

// Percentiles of a distribution, in the unit named by the enclosing field.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Updates reports software updates; the two DuringCase figures must be 0
// (patient-first floor).
type Updates struct {
	Offered                     int64   `json:"offered"`
	Installed                   int64   `json:"installed"`
	Rejected                    int64   `json:"rejected"`
	RolledBack                  int64   `json:"rolledBack"`
	ActivationsDuringCase       int64   `json:"activationsDuringCase"`
	DisruptiveSecondsDuringCase float64 `json:"disruptiveSecondsDuringCase"`
}

// Logs reports log-file uploads.
type Logs struct {
	Requested         int64 `json:"requested"`
	Delivered         int64 `json:"delivered"`
	Bytes             int64 `json:"bytes"`
	IntegrityFailures int64 `json:"integrityFailures"`
}

// Chaos counts the faults and patient cases injected during the run.
type Chaos struct {
	Partitions  int `json:"partitions"`
	HubRestarts int `json:"hubRestarts"`
	PowerLosses int `json:"powerLosses"`
	Cases       int `json:"cases"`
}

// Resources are the harness process's peak resource figures.
type Resources struct {
	PeakHeapBytes uint64  `json:"peakHeapBytes"`
	PeakRSSBytes  uint64  `json:"peakRSSBytes"`
	CPUSeconds    float64 `json:"cpuSeconds"`
	Goroutines    int     `json:"goroutines"`
}

// TimelineEvent is one chaos or patient-case event.
type TimelineEvent struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Site   string    `json:"site"`
	Detail string    `json:"detail"`
}

// Sample is one periodic measurement of the fleet and the harness process.
type Sample struct {
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	Connected      int     `json:"connected"`
	Delivered      int64   `json:"delivered"`
	HeapBytes      uint64  `json:"heapBytes"`
	RSSBytes       uint64  `json:"rssBytes"`
}

// summaryJSON has Summary's fields without its methods, so MarshalJSON can
// delegate without recursing.
type summaryJSON Summary

// MarshalJSON writes nil lists as empty arrays so that readers never see
// null where the schema promises a list.
func (s Summary) MarshalJSON() ([]byte, error) {
	s.normalize()
	return json.Marshal(summaryJSON(s))
}
