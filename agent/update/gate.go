package update

import (
	"context"
	"errors"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// Gate is what updates need from the patient-first guard; *guard.Gate
// satisfies it. Check rules on an action now (nil, or a
// *guard.DeferredError); Changed is closed at the guard's next Observe or
// Notify, so running work can re-check at once; Status is reported in the
// twin.
type Gate interface {
	Check(action guard.Action) error
	Changed() <-chan struct{}
	Status() guard.Status
}

// ErrPaused is the cause of a step or request stopped because the guard
// stopped allowing it (a case started); the work resumes when allowed.
var ErrPaused = errors.New("update: paused by the patient-first guard")

// recheckEvery bounds how long running work goes without asking the guard,
// in real time, even when nothing calls Observe (a stale case state must
// stop work too). Together with an Observe at least every second it keeps
// the pause within the one second DESIGN.md decision 6 promises.
const recheckEvery = 250 * time.Millisecond

// Notice is told when a wait for the guard is deferred or its reason or
// retry time changes (d non-nil), and once when it may proceed after a
// deferral (d nil).
type Notice func(action guard.Action, d *guard.Decision)

// waitAllowed blocks until g allows action or ctx ends, telling note about
// deferrals. It returns nil when allowed, else ctx's cause.
// note hears only about changes: a new reason or retry time.
func waitAllowed(ctx context.Context, g Gate, action guard.Action, note Notice) error {
	var last *guard.Decision
	for {
		changed := g.Changed()
		err := g.Check(action)
		if err == nil {
			if last != nil && note != nil {
				note(action, nil)
			}
			return nil
		}
		var de *guard.DeferredError
		if !errors.As(err, &de) {
			return err
		}
		d := de.Decision
		if note != nil && (last == nil || d.Reason != last.Reason || !d.RetryAt.Equal(last.RetryAt)) {
			note(action, &d)
		}
		last = &d
		if err := sleepUntil(ctx, changed, guard.MaxRecheck); err != nil {
			return err
		}
	}
}

// sleepUntil waits for wake, d, or the end of ctx (returning its cause).
func sleepUntil(ctx context.Context, wake <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-wake:
	case <-t.C:
	}
	return nil
}

// whileAllowed returns a context that is cancelled with cause ErrPaused as
// soon as g stops allowing action, and a stop function that ends the
// watch and waits for its goroutine.
func whileAllowed(ctx context.Context, g Gate, action guard.Action) (context.Context, func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(recheckEvery)
		defer t.Stop()
		for {
			changed := g.Changed()
			if g.Check(action) != nil {
				cancel(ErrPaused)
				return
			}
			select {
			case <-wctx.Done():
				return
			case <-changed:
			case <-t.C:
			}
		}
	}()
	return wctx, func() { cancel(nil); <-done }
}
