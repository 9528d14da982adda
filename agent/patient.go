package agent

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// casePollInterval is how often the agent reads the device's case state:
// pausable work must stop within 1 s of a case starting (DESIGN.md
// decision 6).
const casePollInterval = 250 * time.Millisecond

// Rebooter is implemented by devices the agent may reboot on request.
type Rebooter interface {
	Reboot(ctx context.Context) error
}

// Gate is the patient-first gate: subsystems that do disruptive work
// (downloads, uploads, installs, reboots) wait on it.
func (a *Agent) Gate() *guard.Gate { return a.gate }

// watchCase feeds the device's case state to the guard and reports the
// guard's status in the twin whenever it changes; the audit trail goes to
// the audit log when one is configured.
func (a *Agent) watchCase(ctx context.Context) {
	t := time.NewTicker(casePollInterval)
	defer t.Stop()
	var last guard.Status
	for {
		a.gate.Observe(a.cfg.Device.CaseState())
		if st := a.gate.Status(); st.State != last.State || st.Reason != last.Reason || st.Deferrals != last.Deferrals {
			last = st
			a.queueReport(map[string]any{"guard": guardReport(st)})
			a.signal()
		}
		a.writeAudit()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func guardReport(st guard.Status) map[string]any {
	m := map[string]any{"state": st.State, "reason": st.Reason, "deferrals": st.Deferrals}
	if !st.Since.IsZero() {
		m["since"] = st.Since.UTC().Format(time.RFC3339)
	}
	return m
}

func (a *Agent) writeAudit() {
	entries := a.gate.Drain()
	if a.audit == nil || len(entries) == 0 {
		return
	}
	if err := a.audit.Append(entries...); err != nil {
		a.log.Error("audit log write failed", "err", err)
	}
}

// methods are the agent's direct methods, by name (DTDL commands:
// agent/model).
func (a *Agent) methods() map[string]hub.MethodHandler {
	m := map[string]hub.MethodHandler{"reboot": a.rebootMethod}
	if a.logs != nil {
		m[logship.MethodUploadLogs] = a.logs.UploadLogsMethod
	}
	if a.updates != nil {
		m[MethodApplyUpdate] = a.applyUpdateMethod
	}
	return m
}

// DirectMethods names the direct methods the agent answers.
func (a *Agent) DirectMethods() []string {
	return slices.Sorted(maps.Keys(a.methods()))
}

// registerMethods subscribes the session to the agent's direct methods.
func (a *Agent) registerMethods(ctx context.Context, s *hub.Session) error {
	methods := a.methods()
	for _, name := range slices.Sorted(maps.Keys(methods)) {
		if err := s.RegisterMethod(ctx, name, methods[name]); err != nil {
			return err
		}
	}
	return nil
}

// rebootMethod reboots the device only when the guard allows disruptive
// work; otherwise it answers "deferred" with the reason and when it may
// run (202), and never reboots during a case.
func (a *Agent) rebootMethod(map[string]any) (int, map[string]any) {
	if d := a.gate.Allow(guard.DisruptiveMethod); !d.Allowed {
		return http.StatusAccepted, deferred(d)
	}
	rb, ok := a.cfg.Device.(Rebooter)
	if !ok {
		return http.StatusNotImplemented, map[string]any{"status": "unsupported", "reason": "this device cannot be rebooted by the agent"}
	}
	go func() {
		// Answer first, then reboot: the caller gets its response.
		if err := rb.Reboot(context.Background()); err != nil {
			a.log.Error("reboot failed", "err", err)
		}
	}()
	return http.StatusOK, map[string]any{"status": "rebooting"}
}

func deferred(d guard.Decision) map[string]any {
	m := map[string]any{"status": "deferred", "reason": d.Reason}
	if !d.RetryAt.IsZero() {
		m["retryAt"] = d.RetryAt.UTC().Format(time.RFC3339)
	}
	return m
}
