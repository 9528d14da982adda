package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
)

// UpdatesConfig turns on the deviceUpdate component (Azure Device Update's
// twin contract): signed, monotonic, guarded A/B updates (agent/update).
type UpdatesConfig struct {
	// Roots are the trusted update root keys built into this release.
	// Required. Root sets rotated since (a deployment's
	// rootKeyPackageUrl) are kept in the agent's store and replace these
	// at start while their version is higher.
	Roots update.Roots
	// Device is what every manifest must name. Required.
	Device update.Device
	// Installer is the device's A/B software slots. Required.
	Installer update.Installer
	// Dir holds downloads while a deployment runs. Required.
	Dir string
	// Client fetches payloads. Nil: a default client.
	Client *http.Client
	// Download tunes retrieval (minimum rate, checkpoints, retries).
	Download update.DownloadConfig
}

// openUpdates builds the update manager on the agent's gate and store.
func (a *Agent) openUpdates() error {
	u := a.cfg.Updates
	log := a.log.With("subsystem", "update")
	v, err := update.NewVerifier(update.Config{Roots: u.Roots, Device: u.Device, Logger: log})
	if err != nil {
		return fmt.Errorf("agent updates: %w", err)
	}
	recs := update.NewRecordStore(a.store)
	var audit update.Auditor
	if a.audit != nil {
		audit = a.audit // a nil *AuditLog must not become a non-nil Auditor
	}
	a.updates, err = update.NewManager(update.ManagerConfig{
		Verifier: v, Installer: u.Installer, Gate: a.gate, State: recs, Progress: recs, RootStore: recs, Audit: audit,
		Dir: u.Dir, Client: u.Client, Download: u.Download,
		Device: update.DeviceProperties{
			Manufacturer: u.Device.Manufacturer, Model: u.Device.Model, HardwareID: u.Device.HardwareID,
			ContractModelID: update.ContractModel, ADUVersion: "cloudpillar/" + Version,
		},
		Report: func(p map[string]any) { a.queueReport(p); a.signal() },
		Now:    a.cfg.Now,
		Logger: log,
	})
	if err != nil {
		return fmt.Errorf("agent updates: %w", err)
	}
	if msg := a.updates.RootsProblem(); msg != "" {
		a.alert("updateRootsIgnored", msg)
	}
	return nil
}

// runUpdates runs the update manager until ctx ends.
func (a *Agent) runUpdates(ctx context.Context) {
	if err := a.updates.Run(ctx); err != nil {
		a.log.Error("update manager stopped: its state cannot be saved", "err", err)
	}
}

// applyUpdateDesired hands the desired deviceUpdate component to the
// update manager.
func (a *Agent) applyUpdateDesired(doc map[string]any) {
	if a.updates == nil {
		return
	}
	if c, ok := doc[update.ComponentName].(map[string]any); ok {
		if p := a.updates.HandleDesired(c); p != nil {
			a.queueReport(p)
		}
	}
}

// MethodApplyUpdate is the direct method that asks the update manager to
// go on with the pending deployment now (registered only with updates on).
const MethodApplyUpdate = "applyUpdate"

// applyUpdateMethod serves applyUpdate: payload {} or {"updateId":
// {"provider","name","version"}} (or ADU's string form of it), which must
// name the pending deployment's update. It never widens the guard: the
// pending deployment is only nudged (a retry wait ends, the next step is
// re-evaluated) and each step still waits for the guard. Answers:
//
//	200 {"status":"nothing-pending"}       no deployment in progress or desired
//	409 {"status":"mismatch","reason"}     updateId names another update
//	202 {"status":"deferred","reason","retryAt","runsAfter"}
//	    the guard does not allow it now (as reboot answers); the
//	    deployment goes on by itself, not before runsAfter when known
//	200 {"status":"started","workflowId","phase","updateId"}
//	400 {"error"}                          a payload it cannot read
//
// Nothing pending and a mismatch are answered whatever the guard says,
// since nothing would run. Every answer but 400 is audited.
func (a *Agent) applyUpdateMethod(payload map[string]any) (int, map[string]any) {
	want, err := parseApplyRequest(payload)
	if err != nil {
		return http.StatusBadRequest, map[string]any{"error": err.Error()}
	}
	p, ok := a.updates.Pending()
	if !ok {
		a.auditMethod(MethodApplyUpdate, "nothing-pending", "", nil)
		return http.StatusOK, map[string]any{"status": "nothing-pending"}
	}
	details := map[string]any{"workflowId": p.Workflow.ID}
	if p.UpdateID != nil {
		details["updateId"] = *p.UpdateID
	}
	if want != nil && (p.UpdateID == nil || *p.UpdateID != *want) {
		reason := "the pending deployment is not the update named"
		a.auditMethod(MethodApplyUpdate, "mismatch", reason, details)
		return http.StatusConflict, map[string]any{"status": "mismatch", "reason": reason, "workflowId": p.Workflow.ID}
	}
	if d, runsAfter := a.applyDecision(p); !d.Allowed {
		a.auditMethod(MethodApplyUpdate, guard.DecisionDefer, d.Reason, details)
		body := deferred(d)
		body["workflowId"] = p.Workflow.ID
		if !runsAfter.IsZero() {
			body["runsAfter"] = runsAfter.UTC().Format(time.RFC3339)
		}
		return http.StatusAccepted, body
	}
	a.updates.Nudge()
	a.auditMethod(MethodApplyUpdate, "started", "", details)
	details["status"], details["phase"] = "started", phaseName(p.Phase)
	return http.StatusOK, details
}

// applyDecision is the guard's answer to applyUpdate for p: the floor for
// disruptive methods (recorded: a deferral counts), then, without
// recording, the action p's next step waits for (for activation, an open
// maintenance window too). runsAfter is when that step may run, if known.
func (a *Agent) applyDecision(p update.Pending) (d guard.Decision, runsAfter time.Time) {
	d = a.gate.Allow(guard.DisruptiveMethod)
	step := guard.Decision{Allowed: true}
	if p.Waits != 0 {
		step = a.gate.Peek(p.Waits)
		runsAfter = step.RetryAt
	}
	if d.Allowed {
		d = step
	}
	return d, runsAfter
}

func phaseName(p update.Phase) string {
	if p == "" {
		return "queued"
	}
	return string(p)
}

// parseApplyRequest reads applyUpdate's payload: nil, {} or {"updateId":
// id}, with id an object or ADU's stringified object.
func parseApplyRequest(payload map[string]any) (*update.UpdateID, error) {
	for k := range payload {
		if k != "updateId" {
			return nil, fmt.Errorf("payload must be {} or {\"updateId\"}: unknown field %q", k)
		}
	}
	raw, ok := payload["updateId"]
	if !ok || raw == nil {
		return nil, nil
	}
	b, _ := json.Marshal(raw) // decoded from JSON: it encodes
	if s, isString := raw.(string); isString {
		b = []byte(s)
	}
	var id update.UpdateID
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&id); err != nil || id.Provider == "" || id.Name == "" || id.Version == "" {
		return nil, errors.New("updateId must be {\"provider\",\"name\",\"version\"}")
	}
	return &id, nil
}

// auditMethod appends a direct method's decision to the audit log, if
// there is one.
func (a *Agent) auditMethod(method, decision, reason string, details map[string]any) {
	if a.audit == nil {
		return
	}
	e := guard.AuditEntry{At: a.cfg.Now(), Action: method, Decision: decision, Reason: reason, Details: details}
	if err := a.audit.Append(e); err != nil {
		a.log.Error("audit log write failed", "err", err)
	}
}
