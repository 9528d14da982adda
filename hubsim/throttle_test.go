package hubsim_test

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// throttleFloor is the agent's wait after a 429 in this test (production:
// at least 10 s).
const throttleFloor = 250 * time.Millisecond

// TestAgentKeepsEveryMessageWhileThrottledAndDeliversWhenItStops
// (REQ-NET-001; PROTOCOL.md §5): on a throttled hub whose clock stands
// still, the production agent's telemetry is shaped and then refused (the
// hub closes its connection) and its twin reads after reconnecting get
// 429, which the agent honours with its throttle floor instead of retrying
// in a tight loop. It keeps producing; once throttling is turned off every
// message it accepted reaches the hub.
func TestAgentKeepsEveryMessageWhileThrottledAndDeliversWhenItStops(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	h := hubtest.NewHub(t, hubsim.Config{
		Now: func() time.Time { return time.Unix(0, clock.Load()) },
		Throttle: &throttle.Config{Tier: throttle.S1, ShapingDelay: 500 * time.Millisecond,
			Rates: map[throttle.Class]float64{throttle.D2C: 5, throttle.TwinReads: 2}},
	})
	a, stop := runThrottledAgent(t, h, "dev-t", throttleFloor)

	start := time.Now()
	hubtest.Eventually(t, 20*time.Second, func() bool {
		st := h.ThrottleStats()
		return st.Throttled[throttle.D2C] >= 1 && st.Throttled[throttle.TwinReads] >= 3
	}, "agent not throttled on both telemetry and twin reads: %+v", h.ThrottleStats())
	window, st := time.Since(start), h.ThrottleStats()
	// After its first 429 the agent waits at least the floor before each
	// redial, so 429s come no faster than one per floor.
	if max429 := int64(window/throttleFloor) + 2; st.Throttled[throttle.TwinReads] > max429 {
		t.Fatalf("%d twin 429s in %v, want at most %d with a %v floor", st.Throttled[throttle.TwinReads], window, max429, throttleFloor)
	}
	if st.Shaped[throttle.D2C] == 0 {
		t.Fatalf("no telemetry was shaped before being refused: %+v", st)
	}
	held := a.Stats().Pending
	t.Logf("throttled for %v: %+v; %d messages waiting in the agent", window.Round(time.Millisecond), st, held)

	if err := h.SetThrottle(nil); err != nil {
		t.Fatal(err)
	}
	hubtest.Eventually(t, 20*time.Second, func() bool { return a.Stats().Delivered >= int64(held) },
		"agent delivered %d after throttling stopped, %d were waiting", a.Stats().Delivered, held)
	a.SetProducing(false)
	hubtest.Eventually(t, 20*time.Second, func() bool { return a.Stats().Pending == 0 },
		"%d messages still pending", a.Stats().Pending)
	stop()
	checkDelivery(t, h, a, "dev-t")
}

// runThrottledAgent runs the real agent for id sampling every 20 ms with
// throttle floor floor, reconnect backoff 50-200 ms and a short send
// timeout; stop ends it (also at cleanup).
func runThrottledAgent(t *testing.T, h *hubsim.Hub, id string, floor time.Duration) (a *agent.Agent, stop func()) {
	t.Helper()
	a, stop = agenttest.Run(t, agent.Config{
		Hub:               hubtest.SessionConfig(h, id, hubtest.Device(t, h, id)),
		TelemetryInterval: 20 * time.Millisecond,
		Boot:              1,
		Backoff:           backoff.Policy{Base: 50 * time.Millisecond, Cap: 200 * time.Millisecond},
		ThrottleFloor:     floor,
		SendTimeout:       5 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})),
	})
	return a, stop
}

// TestAgentBacksOffWhenTheDailyQuotaIsUsedUp (PROTOCOL.md §5): once the
// hub's daily message quota is used up, the hub closes the connection on
// the next telemetry message and answers the agent's twin read after it
// reconnects 403 (403002). The agent treats that as throttling: it waits
// its throttle floor before each redial instead of reconnecting in a tight
// loop, keeps every message, and delivers them all once the hub takes
// messages again.
func TestAgentBacksOffWhenTheDailyQuotaIsUsedUp(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	h := hubtest.NewHub(t, hubsim.Config{
		Now:      func() time.Time { return time.Unix(0, clock.Load()) },
		Throttle: &throttle.Config{Tier: throttle.S1, DailyQuota: 10},
	})
	const floor = time.Second // well above the 200 ms backoff cap, so a tight loop shows
	a, stop := runThrottledAgent(t, h, "dev-q", floor)

	hubtest.Eventually(t, 20*time.Second, func() bool { return h.ThrottleStats().QuotaExceeded >= 1 },
		"the quota was never hit: %+v", h.ThrottleStats())
	first, start := h.ThrottleStats().QuotaExceeded, time.Now()
	const window = 3 * time.Second
	time.Sleep(window) // a measuring window: the count over it is the point
	st := h.ThrottleStats()
	// One refusal per redial, and a redial at most once per floor; without
	// the floor the 200 ms backoff cap would allow about 15.
	if n, most := st.QuotaExceeded-first, int64(window/floor)+2; n > most {
		t.Fatalf("%d quota refusals in %v, want at most %d with a %v floor: the agent redials in a tight loop", n, window, most, floor)
	}
	t.Logf("quota used up: %d refusals in %v, %d messages waiting in the agent", st.QuotaExceeded-first, time.Since(start).Round(time.Millisecond), a.Stats().Pending)

	if err := h.SetThrottle(nil); err != nil {
		t.Fatal(err)
	}
	a.SetProducing(false)
	hubtest.Eventually(t, 30*time.Second, func() bool { return a.Stats().Pending == 0 },
		"%d messages still pending after the quota was lifted", a.Stats().Pending)
	stop()
	checkDelivery(t, h, a, "dev-q")
}
