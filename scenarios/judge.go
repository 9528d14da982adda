package scenarios

import (
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/reports"
)

// judge fills the summary from what the hub recorded and the agents
// accepted, and decides the verdict: pass only if every device is connected,
// every desired change was acknowledged and no telemetry was lost.
func (r *run) judge() {
	s := &r.sum
	s.Scenario = r.sc.Name
	s.Seed = r.sc.Seed
	s.Devices = r.sc.Devices
	s.DurationSeconds = time.Since(r.start).Seconds()
	s.Connect.Connected = r.fleet.Connected()
	s.Connect.Provisioned = int(r.fleet.Totals().Provisioned)
	s.Chaos.Cases = r.cases
	r.countTelemetry()
	pushes, acked, lat := r.twins.figures()
	s.Twin.DesiredUpdates, s.Twin.Acknowledged = pushes, acked
	s.Twin.SyncLatencyMs = reports.LatencyPercentiles(lat)
	tl := r.net.Timeline()
	s.Chaos.Partitions = tl.Count(chaos.KindPartition)
	s.Chaos.HubRestarts = r.hub.Restarts()
	r.countThrottling()
	r.judgeLogs()
	for _, e := range tl.Events() {
		s.Timeline = append(s.Timeline, reports.TimelineEvent{At: e.At, Kind: e.Kind, Site: e.Site, Detail: e.Detail})
	}
	s.Samples, s.Resources = r.sampler.figures()
	r.countUpdates()
	r.verdict()
}

// countTelemetry compares, per device, every message id the agent accepted
// (<id>-<boot>-1 .. <id>-<boot>-<accepted>) with the hub's event log.
func (r *run) countTelemetry() {
	ev := r.hub.Events()
	t := &r.sum.Telemetry
	for _, d := range r.fleet.Devices() {
		st := d.Agent.Stats()
		t.Sent += st.Accepted
		for seq := int64(1); seq <= st.Accepted; seq++ {
			if ev.Seen(d.ID, telemetry.MessageID(d.ID, d.Agent.Boot(), uint64(seq))) == 0 {
				t.Lost++
			}
		}
	}
	stats := ev.Stats()
	t.Delivered = stats.Unique
	t.Duplicates = stats.Duplicates
	if secs := r.sc.Duration.D().Seconds(); secs > 0 {
		t.MessagesPerSecond = float64(stats.Received) / secs
	}
}

func (r *run) verdict() {
	s := &r.sum
	if s.Connect.Connected != s.Devices {
		s.Failures = append(s.Failures, fmt.Sprintf("all devices connected: %d of %d connected at the end", s.Connect.Connected, s.Devices))
	}
	if s.Telemetry.Lost != 0 {
		s.Failures = append(s.Failures, fmt.Sprintf("no telemetry lost: %d of %d accepted messages never reached the hub", s.Telemetry.Lost, s.Telemetry.Sent))
	}
	if s.Twin.Acknowledged != s.Twin.DesiredUpdates {
		s.Failures = append(s.Failures, fmt.Sprintf("every desired change acknowledged: %d of %d", s.Twin.Acknowledged, s.Twin.DesiredUpdates))
	}
	s.Verdict = reports.VerdictPass
	if len(s.Failures) > 0 {
		s.Verdict = reports.VerdictFail
	}
}

// countThrottling copies a throttled hub's counters into the summary.
func (r *run) countThrottling() {
	tc := r.sc.Hub.Throttle()
	if tc == nil {
		return
	}
	st := r.hub.ThrottleStats()
	t := &reports.Throttling{Tier: string(tc.Tier), Units: max(tc.Units, 1), Throttled: map[string]int64{},
		Shaped: map[string]int64{}, QuotaExceeded: st.QuotaExceeded}
	for c, n := range st.Throttled {
		t.Throttled[c.String()] = n
	}
	for c, n := range st.Shaped {
		t.Shaped[c.String()] = n
	}
	r.sum.Throttling = t
}
