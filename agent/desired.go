package agent

import (
	"context"

	"github.com/cloudpillar/cloudpillar/agent/hub"
)

// onDesired receives desired patches on the SDK's goroutine; it only
// queues them for the connection loop.
func (a *Agent) onDesired(patch []byte) {
	a.desiredMu.Lock()
	a.desired = append(a.desired, patch)
	a.desiredMu.Unlock()
	select {
	case a.desiredCh <- struct{}{}:
	default:
	}
}

func (a *Agent) desiredWaiting() bool {
	a.desiredMu.Lock()
	defer a.desiredMu.Unlock()
	return len(a.desired) > 0
}

// applyDesired applies the queued desired patches in arrival order.
func (a *Agent) applyDesired() {
	a.desiredMu.Lock()
	pending := a.desired
	a.desired = nil
	a.desiredMu.Unlock()
	for _, raw := range pending {
		doc, err := decodeObject(raw)
		if err != nil {
			a.log.Warn("desired patch ignored", "err", err)
			continue
		}
		a.applyDoc(doc)
	}
}

func (a *Agent) applyDoc(doc map[string]any) {
	a.applyUpdateDesired(doc)
	patch := a.twin.Apply(doc)
	if patch == nil {
		return
	}
	a.queueReport(patch)
	a.log.Info("desired properties applied", "version", a.twin.Version(), "telemetryInterval", a.TelemetryInterval().String())
}

// queueReport stores patch in the pending reported state, where a burst of
// changes coalesces into one patch (later values win) that survives a
// restart. If the store cannot take it, it is kept in memory instead.
func (a *Agent) queueReport(patch map[string]any) {
	if err := a.store.PutReported(patch); err == nil {
		return
	} else {
		a.log.Error("reported state kept in memory only: the store cannot take it", "err", err)
	}
	a.reportMu.Lock()
	defer a.reportMu.Unlock()
	for k, v := range patch {
		a.report[k] = v
	}
}

// flushReport sends the pending reported state and removes what the hub
// acknowledged; anything merged meanwhile stays pending.
func (a *Agent) flushReport(ctx context.Context, s *hub.Session) error {
	patch, gen, stored := a.store.PendingReported()
	a.reportMu.Lock()
	mem := a.report
	a.report = map[string]any{}
	a.reportMu.Unlock()
	if !stored && len(mem) == 0 {
		return nil
	}
	if patch == nil {
		patch = map[string]any{}
	}
	for k, v := range mem {
		patch[k] = v
	}
	rctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	if _, err := s.Report(rctx, patch); err != nil {
		a.reportMu.Lock()
		for k, v := range mem {
			if _, newer := a.report[k]; !newer {
				a.report[k] = v
			}
		}
		a.reportMu.Unlock()
		return err
	}
	if stored {
		if err := a.store.AckReported(gen); err != nil {
			a.log.Error("reported state sent but not cleared from the store", "err", err)
		}
	}
	return nil
}
