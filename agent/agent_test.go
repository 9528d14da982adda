package agent_test

import (
	"encoding/json"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
)

// startAgent runs an agent for device id against h until the test ends.
func startAgent(t *testing.T, h *hubsim.Hub, id string, mutate func(*agent.Config)) *agent.Agent {
	t.Helper()
	cfg := agent.Config{
		Hub:               hubtest.SessionConfig(h, id, hubtest.Device(t, h, id)),
		TelemetryInterval: 100 * time.Millisecond,
		Boot:              7,
		Backoff:           backoff.Policy{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond},
		Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a, _ := agenttest.Run(t, cfg)
	return a
}

// startConnected is startAgent, returning once the agent is connected.
func startConnected(t *testing.T, h *hubsim.Hub, id string, mutate func(*agent.Config)) *agent.Agent {
	t.Helper()
	a := startAgent(t, h, id, mutate)
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Connected }, "agent never connected")
	return a
}

func reportedAck(t *testing.T, h *hubsim.Hub, id, prop string) map[string]any {
	t.Helper()
	tw, err := h.Twin(id)
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := tw.Reported.Props[prop]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(raw)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func ackIs(m map[string]any, ac, av int) bool {
	return m != nil && m["ac"] == float64(ac) && m["av"] == float64(av)
}

func TestTelemetryCarriesStableMessageIDs(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	a := startAgent(t, h, "dev-1", nil)
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Delivered >= 3 }, "fewer than 3 messages delivered")
	for seq := uint64(1); seq <= 3; seq++ {
		if n := h.Events().Seen("dev-1", telemetry.MessageID("dev-1", 7, seq)); n != 1 {
			t.Fatalf("message dev-1-7-%d recorded %d times, want 1", seq, n)
		}
	}
}

func TestDesiredIntervalIsAppliedAndAcknowledgedAtItsVersion(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	a := startConnected(t, h, "dev-1", nil)
	v, err := h.UpdateDesired("dev-1", []byte(`{"telemetryIntervalSeconds":3}`))
	if err != nil {
		t.Fatal(err)
	}
	hubtest.Eventually(t, 10*time.Second, func() bool {
		return ackIs(reportedAck(t, h, "dev-1", "telemetryIntervalSeconds"), 200, v)
	}, "no ac 200 at version %d", v)
	if got := a.TelemetryInterval(); got != 3*time.Second {
		t.Fatalf("interval in force = %v, want 3s", got)
	}
}

func TestDesiredValueOfWrongTypeIsRejectedAndPreviousValueStays(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	a := startConnected(t, h, "dev-1", func(c *agent.Config) { c.TelemetryInterval = 2 * time.Second })
	v, err := h.UpdateDesired("dev-1", []byte(`{"telemetryIntervalSeconds":"often"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ack map[string]any
	hubtest.Eventually(t, 10*time.Second, func() bool {
		ack = reportedAck(t, h, "dev-1", "telemetryIntervalSeconds")
		return ackIs(ack, 400, v)
	}, "no ac 400 at version %d", v)
	if ack["ad"] == "" || ack["value"] != 2.0 {
		t.Fatalf("ack = %v, want a reason and the value in force", ack)
	}
	if got := a.TelemetryInterval(); got != 2*time.Second {
		t.Fatalf("interval in force = %v, want the previous 2s", got)
	}
}

// TestOfflineQueueDrainsAndOfflineDesiredChangeAppliesAfterReconnect cuts
// the device off with a blackhole partition (no FIN, no RST), changes its
// twin while it is away, heals, and checks nothing was lost.
func TestOfflineQueueDrainsAndOfflineDesiredChangeAppliesAfterReconnect(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	nw := chaos.NewNetwork(nil)
	a := startAgent(t, h, "dev-1", func(c *agent.Config) {
		var d net.Dialer
		c.Hub.Dial = hub.DialFunc(nw.Dialer("site-a", d.DialContext))
		c.Hub.KeepAlive = time.Second
		c.Hub.PingTimeout = 500 * time.Millisecond
	})
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Delivered >= 2 }, "agent never delivered")
	nw.Partition("site-a")
	hubtest.Eventually(t, 10*time.Second, func() bool { return !a.Stats().Connected }, "agent did not notice the partition")
	v, err := h.UpdateDesired("dev-1", []byte(`{"telemetryIntervalSeconds":2}`))
	if err != nil {
		t.Fatal(err)
	}
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Pending >= 3 }, "nothing queued while offline")
	nw.Heal("site-a")
	hubtest.Eventually(t, 20*time.Second, func() bool {
		return ackIs(reportedAck(t, h, "dev-1", "telemetryIntervalSeconds"), 200, v)
	}, "offline desired change not acknowledged after reconnect")
	a.SetProducing(false)
	hubtest.Eventually(t, 20*time.Second, func() bool { return a.Stats().Pending == 0 && allDelivered(h, a, "dev-1") },
		"not every accepted message reached the hub (accepted %d, pending %d)", a.Stats().Accepted, a.Stats().Pending)
	st := a.Stats()
	if st.Connects < 2 {
		t.Fatalf("connects = %d, want a reconnect", st.Connects)
	}
}

// liveDevice is a host device whose patient case is always live.
type liveDevice struct{}

func (liveDevice) CaseState() device.CaseState { return device.CaseLive }
func (liveDevice) Metrics() map[string]any     { return map[string]any{"secret": 1} }

func TestLiveCaseReducesTelemetryToHeartbeats(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	a := startAgent(t, h, "dev-1", func(c *agent.Config) {
		c.Device = liveDevice{}
		c.TelemetryInterval = 50 * time.Millisecond
		c.HeartbeatInterval = 400 * time.Millisecond
	})
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Delivered >= 2 }, "no heartbeats delivered")
	for _, e := range h.Events().Events() {
		var s telemetry.Sample
		if err := json.Unmarshal(e.Body, &s); err != nil {
			t.Fatal(err)
		}
		if !s.Heartbeat || s.Metrics != nil || s.CaseState != "live" {
			t.Fatalf("sample during a live case = %s, want a heartbeat without metrics", e.Body)
		}
	}
	// 50 ms sampling would give ~20 messages/s; heartbeats come every 400 ms.
	first := h.Events().Events()[0].EnqueuedTime
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Delivered >= 3 }, "no third heartbeat")
	ev := h.Events().Events()
	if gap := ev[2].EnqueuedTime.Sub(first); gap < 600*time.Millisecond {
		t.Fatalf("3 heartbeats within %v, want them 400 ms apart", gap)
	}
}

func TestHostMetricsJoinDeviceMetricsInTelemetry(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	a := startAgent(t, h, "dev-1", func(c *agent.Config) { c.HostMetrics = true })
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Delivered >= 1 }, "nothing delivered")
	var s telemetry.Sample
	if err := json.Unmarshal(h.Events().Events()[0].Body, &s); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Metrics[telemetry.MetricHostUptimeSeconds]; !ok {
		t.Fatalf("metrics = %v, want host uptime", s.Metrics)
	}
}

// allDelivered reports whether the hub recorded every message the agent
// accepted in this boot. Poll it: a sample taken just as production stops
// may still be on its way.
func allDelivered(h *hubsim.Hub, a *agent.Agent, id string) bool {
	for seq := uint64(1); seq <= uint64(a.Stats().Accepted); seq++ {
		if h.Events().Seen(id, telemetry.MessageID(id, a.Boot(), seq)) == 0 {
			return false
		}
	}
	return true
}

func TestBatchedReadingsTravelAsOneMessageWithOneID(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	a := startAgent(t, h, "dev-1", func(c *agent.Config) {
		c.TelemetryInterval = 20 * time.Millisecond
		c.BatchSamples = 5
	})
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Delivered >= 2 }, "no batch delivered")
	a.SetProducing(false) // sends the readings collected so far
	hubtest.Eventually(t, 10*time.Second, func() bool { return allDelivered(h, a, "dev-1") }, "not every batch reached the hub")
	for i, e := range h.Events().Events() {
		var s telemetry.Sample
		if err := json.Unmarshal(e.Body, &s); err != nil {
			t.Fatal(err)
		}
		if e.MessageID != telemetry.MessageID("dev-1", a.Boot(), uint64(i+1)) {
			t.Fatalf("message %d has id %s", i+1, e.MessageID)
		}
		if n := len(s.Batch); n == 0 || n > 5 || (i < 2 && n != 5) {
			t.Fatalf("message %d carries %d readings, want 5 (fewer only for the last)", i+1, n)
		}
	}
}
