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
	patch := a.twin.Apply(doc)
	if patch == nil {
		return
	}
	a.queueReport(patch)
	a.log.Info("desired properties applied", "version", a.twin.Version(), "telemetryInterval", a.TelemetryInterval().String())
}

// queueReport merges patch into the pending reported state: a burst of
// changes becomes one patch, later values win.
func (a *Agent) queueReport(patch map[string]any) {
	a.reportMu.Lock()
	defer a.reportMu.Unlock()
	for k, v := range patch {
		a.report[k] = v
	}
}

// flushReport sends the coalesced reported patch; on failure it stays
// pending (under any newer values) for the next connection.
func (a *Agent) flushReport(ctx context.Context, s *hub.Session) error {
	a.reportMu.Lock()
	if len(a.report) == 0 {
		a.reportMu.Unlock()
		return nil
	}
	patch := a.report
	a.report = map[string]any{}
	a.reportMu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	if _, err := s.Report(rctx, patch); err != nil {
		a.reportMu.Lock()
		for k, v := range patch {
			if _, newer := a.report[k]; !newer {
				a.report[k] = v
			}
		}
		a.reportMu.Unlock()
		return err
	}
	return nil
}
