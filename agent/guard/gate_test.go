package guard

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGateWaitingDownloadProceedsAfterQuietPeriod: a download waiting on
// the gate starts only once the case has ended and the quiet period has
// passed on the injected clock (issue 5).
func TestGateWaitingDownloadProceedsAfterQuietPeriod(t *testing.T) {
	leakcheck.Check(t, 2*time.Second)
	clk := testclock.New(t0)
	gate := NewGate(New(Config{Lease: MaxLease}), clk.Now, testclock.NeverFires)
	gate.Observe(device.CaseLive)

	done := make(chan error, 1)
	go func() { done <- gate.Wait(context.Background(), Download) }()

	type step struct {
		advance time.Duration
		state   device.CaseState
		ready   bool
	}
	steps := []step{
		{time.Minute, device.CaseLive, false},
		{time.Minute, device.CaseIdle, false}, // case ended at t0+2m
	}
	for range 9 { // heartbeats within the lease up to t0+11m
		steps = append(steps, steps[len(steps)-1])
	}
	steps = append(steps,
		step{59 * time.Second, device.CaseIdle, false}, // t0+11m59s: one second short
		step{time.Second, device.CaseIdle, true},       // t0+12m
	)
	for i, s := range steps {
		clk.Advance(s.advance)
		gate.Observe(s.state)
		if s.ready {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Wait = %v, want nil", err)
				}
			case <-time.After(time.Second):
				t.Fatalf("step %d: Wait still blocked at %v after the quiet period", i, clk.Now().Sub(t0))
			}
			return
		}
		select {
		case err := <-done:
			t.Fatalf("step %d: Wait returned %v at t0+%v, before the quiet period ended", i, err, clk.Now().Sub(t0))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestGateWaitHonoursContext: a waiter gives up when its context ends and
// says why it was waiting.
func TestGateWaitHonoursContext(t *testing.T) {
	leakcheck.Check(t, 2*time.Second)
	clk := testclock.New(t0)
	gate := NewGate(New(Config{}), clk.Now, testclock.NeverFires)
	gate.Observe(device.CaseLive)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gate.Wait(ctx, Activate) }()
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || err.Error() != "guard: wait for activate (patient case live): context canceled" {
		t.Fatalf("Wait after cancel = %v", err)
	}
}

// TestGateRechecksOnTimer: without a Notify the waiter re-checks at the
// decision's RetryAt (capped at MaxRecheck) on the gate's clock.
func TestGateRechecksOnTimer(t *testing.T) {
	leakcheck.Check(t, 2*time.Second)
	clk := testclock.New(t0)
	fire := make(chan time.Time)
	var mu sync.Mutex
	var delays []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		delays = append(delays, d)
		return fire
	}
	g := New(Config{QuietPeriod: time.Minute, Lease: MaxLease})
	g.Observe(device.CaseIdle, t0)
	g.Observe(device.CaseIdle, t0.Add(59*time.Second+500*time.Millisecond))
	clk.Advance(59*time.Second + 500*time.Millisecond)
	gate := NewGate(g, clk.Now, after)

	done := make(chan error, 1)
	go func() { done <- gate.Wait(context.Background(), Upload) }()
	waitFor(t, time.Second, "first timer", func() bool { mu.Lock(); defer mu.Unlock(); return len(delays) == 1 })
	clk.Advance(500 * time.Millisecond)
	fire <- clk.Now()
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if delays[0] != 500*time.Millisecond {
		t.Errorf("first re-check after %v, want 500ms (the end of the quiet period)", delays[0])
	}
}

// TestRunningWorkStopsWithinASecondOfACaseStarting: pausable work that
// selects on Changed and calls Check learns of a case start at once
// (issue 5: "Pausable work stops within 1 s of a case starting").
func TestRunningWorkStopsWithinASecondOfACaseStarting(t *testing.T) {
	leakcheck.Check(t, 2*time.Second)
	clk := testclock.New(t0)
	gate := NewGate(New(Config{QuietPeriod: time.Minute, Lease: MaxLease}), clk.Now, testclock.NeverFires)
	gate.Observe(device.CaseIdle)
	clk.Advance(time.Minute)
	gate.Observe(device.CaseIdle)
	if err := gate.Check(Download); err != nil {
		t.Fatalf("Check(download) before the case = %v", err)
	}

	stopped := make(chan error, 1)
	go func() { // a download loop between chunks
		for {
			changed := gate.Changed()
			if err := gate.Check(Download); err != nil {
				stopped <- err
				return
			}
			<-changed
		}
	}()
	start := time.Now()
	gate.Observe(device.CaseLive)
	select {
	case err := <-stopped:
		var de *DeferredError
		if !errors.As(err, &de) || de.Decision.Reason != ReasonLive || de.Action != Download {
			t.Fatalf("worker stopped with %v, want a deferral for the live case", err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("worker stopped after %v, want within 1s", el)
		}
	case <-time.After(time.Second):
		t.Fatal("worker did not stop within 1s of the case starting")
	}
	if st := gate.Status(); st.State != StateLive || st.Deferrals != 1 {
		t.Errorf("Status = %+v, want live with 1 deferral", st)
	}
	if n := len(gate.Drain()); n == 0 {
		t.Error("Drain returned no audit entries")
	}
}

func TestDeferredErrorText(t *testing.T) {
	tests := []struct {
		err  DeferredError
		want string
	}{
		{DeferredError{Download, Decision{Reason: ReasonLive}}, "guard: download deferred: patient case live"},
		{DeferredError{Activate, Decision{Reason: ReasonQuiet, RetryAt: t0}}, "guard: activate deferred: quiet period after case (not before 2026-06-01T10:00:00Z)"},
		{DeferredError{Action(42), Decision{Reason: ReasonUnknownAction}}, "guard: action(42) deferred: unknown action"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
