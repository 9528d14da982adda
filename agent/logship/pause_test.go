package logship

import (
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// caseGate is a real guard.Gate on a fake clock with the minimum quiet
// period (one minute).
type caseGate struct {
	*guard.Gate
	clk *testclock.Clock
}

func newCaseGate() *caseGate {
	clk := testclock.New(time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC))
	g := &caseGate{Gate: guard.NewGate(guard.New(guard.Config{QuietPeriod: guard.MinQuietPeriod}), clk.Now, testclock.NeverFires), clk: clk}
	g.Observe(device.CaseIdle)
	return g
}

// idleFor observes an idle device for d, in heartbeats shorter than the
// guard's lease.
func (g *caseGate) idleFor(d time.Duration) {
	for step := 5 * time.Second; d > 0; d -= step {
		g.clk.Advance(min(step, d))
		g.Observe(device.CaseIdle)
	}
}

// TestUploadPausesWithinASecondOfACaseAndResumesAfterTheQuietPeriod: a
// block in flight when a case starts is abandoned within a second, no
// byte moves during the case or the quiet period after it, and the upload
// then completes from the abandoned block (REQ-LOG-002, DESIGN.md
// decision 6).
func TestUploadPausesWithinASecondOfACaseAndResumesAfterTheQuietPeriod(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(20, 512<<10)
	writeFile(t, dir, "carto.log", want)
	g := newCaseGate()
	g.idleFor(2 * time.Minute)
	cfg := h.config(t, dev, deviceLogs(dir))
	cfg.Waiter, cfg.BytesPerSecond = g, 128<<10 // about 4 s for the file
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	waitFor(t, 10*time.Second, "100 KiB uploaded", func() bool { return h.received.Load() > 100<<10 })

	g.Observe(device.CaseLive)
	liveAt := time.Now()
	waitFor(t, time.Second, "the job to report waiting", func() bool { return log.state(id) == StateWaiting })
	if d := time.Since(liveAt); d > time.Second {
		t.Errorf("paused after %v", d)
	}
	if st := log.get(id); st["detail"] != guard.ReasonLive {
		t.Errorf("waiting detail %q, want %q", st["detail"], guard.ReasonLive)
	}
	time.Sleep(100 * time.Millisecond) // bytes already in socket buffers land
	frozen, blocks := h.received.Load(), h.count(hookBlock)
	g.Observe(device.CaseIdle) // the case ends; the quiet period starts
	g.idleFor(30 * time.Second)
	time.Sleep(500 * time.Millisecond)
	if got := h.received.Load(); got != frozen || h.count(hookBlock) != blocks {
		t.Fatalf("during the case and quiet period: %d more bytes, %d more blocks", got-frozen, h.count(hookBlock)-blocks)
	}
	if log.state(id) != StateWaiting || log.get(id)["detail"] != guard.ReasonQuiet {
		t.Fatalf("in the quiet period: %v %v", log.state(id), log.get(id)["detail"])
	}

	g.idleFor(31 * time.Second)
	st := log.finished(t, id, 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	if r := st["resentBlocks"].(int); r < 1 {
		t.Errorf("resentBlocks = %d: the abandoned block was not counted", r)
	}
}

// TestRequestDuringACaseWaitsUntilTheQuietPeriodEnds: a job requested
// while a case is live does not even select files or contact the hub
// until the case has ended and the quiet period passed (REQ-LOG-002).
func TestRequestDuringACaseWaitsUntilTheQuietPeriodEnds(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := logText(21, 10<<10)
	writeFile(t, dir, "carto.log", want)
	g := newCaseGate()
	g.idleFor(2 * time.Minute)
	g.Observe(device.CaseLive)
	cfg := h.config(t, dev, deviceLogs(dir))
	cfg.Waiter = g
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	waitFor(t, 5*time.Second, "the job to wait", func() bool { return log.state(id) == StateWaiting })
	g.Observe(device.CaseIdle)
	g.idleFor(50 * time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := h.count(hookStart); n != 0 || log.state(id) != StateWaiting {
		t.Fatalf("before the quiet period passed: %d upload requests, state %v", n, log.state(id))
	}
	g.idleFor(15 * time.Second)
	st := log.finished(t, id, 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	if hist := log.history(id); !contains(hist, StateWaiting) || hist[len(hist)-1] != StateDone {
		t.Errorf("states %v", hist)
	}
}

// TestBandwidthCapHolds: the upload never goes faster than the cap.
func TestBandwidthCapHolds(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(22, 384<<10)
	writeFile(t, dir, "carto.log", want)
	cfg := h.config(t, dev, deviceLogs(dir))
	cfg.BytesPerSecond = 256 << 10
	s, log := newShipper(t, cfg)
	run(t, s)
	start := time.Now()
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	elapsed := time.Since(start)
	checkDelivered(t, h, dev, st, 1, want)
	// The bucket starts full (64 KiB burst): the rest goes at the cap.
	floor := time.Duration(float64(len(want)-64<<10) / float64(cfg.BytesPerSecond) * float64(time.Second))
	if elapsed < floor*9/10 {
		t.Errorf("%d bytes in %v at a cap of %d B/s: faster than the cap allows (%v)", len(want), elapsed, cfg.BytesPerSecond, floor)
	}
}
