package logship

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// Waiter is the patient-first gate; *guard.Gate satisfies it. Check says
// whether an action may run now (a *guard.DeferredError carries the
// reason when not), and Changed returns a channel closed at the next
// observation of the case state (at least once a second while the agent
// observes the device).
type Waiter interface {
	Check(action guard.Action) error
	Changed() <-chan struct{}
}

// openGate never holds: the Waiter of a Shipper configured without one.
type openGate struct{}

func (openGate) Check(guard.Action) error { return nil }
func (openGate) Changed() <-chan struct{} { return nil }

// hold blocks while w does not allow uploads, calling onHold with the
// guard's reason whenever it changes. It re-checks at every change of
// case state and at least every guard.MaxRecheck (the quiet period ends
// without one).
func hold(ctx context.Context, w Waiter, onHold func(reason string)) error {
	last := ""
	for {
		changed := w.Changed() // before Check: a change after it closes this channel
		err := w.Check(guard.Upload)
		if err == nil {
			return nil
		}
		if r := reason(err); r != last {
			last = r
			onHold(r)
		}
		t := time.NewTimer(guard.MaxRecheck)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// reason is the guard's reason for holding an upload, for the twin.
func reason(err error) string {
	var de *guard.DeferredError
	if errors.As(err, &de) {
		return de.Decision.Reason
	}
	return err.Error()
}

// whileAllowed returns a context that is cancelled with ErrPaused as soon
// as w stops allowing uploads, so a block in flight is abandoned within
// the gate's notice (a second) of a case starting. stop ends the watch and
// waits for its goroutine.
func whileAllowed(ctx context.Context, w Waiter) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			changed := w.Changed() // before Check: a change after it closes this channel
			if w.Check(guard.Upload) != nil {
				cancel(ErrPaused)
				return
			}
			select {
			case <-changed:
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	})
	return ctx, func() {
		close(done)
		wg.Wait()
		cancel(nil)
	}
}
