package features

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cucumber/godog"
)

// registerRestartSteps adds the hub restart (REQ-NET-003). The checks
// after it are the resilience steps': reconnection, drained stores, no
// loss, exact duplicates.
func (w *world) registerRestartSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the hub restarts and is unreachable for (\d+) seconds$`, w.hubRestarts)
}

// hubRestarts crashes the hub (every connection reset, no DISCONNECT),
// keeps it unreachable for secs (dials refused) and brings it back on the
// same addresses with all its state. The outage is counted from the moment
// the hub went down: no device can connect while it is down, so "connected
// again after the outage" means a connection made after the restart.
func (w *world) hubRestarts(ctx context.Context, secs int) error {
	if w.hub == nil {
		return errors.New("no hub is running")
	}
	before := w.hub.Restarts()
	w.healedAt = time.Now()
	if err := w.hub.Restart(ctx, seconds(secs)); err != nil {
		return fmt.Errorf("restart the hub: %w", err)
	}
	if n := w.hub.Restarts(); n != before+1 {
		return fmt.Errorf("the hub counts %d restarts, want %d", n, before+1)
	}
	godog.Logf(ctx, "hub down for %v, serving again on %s", time.Since(w.healedAt).Round(time.Millisecond), w.hub.MQTTAddr())
	return nil
}
