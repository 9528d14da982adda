package update

import (
	"encoding/json"
	"fmt"
	"time"
)

// reportedSteps are the stepResults keys always reported, so a step of an
// earlier workflow never lingers in the twin (reported patches merge).
var reportedSteps = []string{"step_0", "step_1", "step_2"}

// aduState maps a phase to ADU's deviceUpdate.agent.state.
func aduState(p Phase) int {
	switch p {
	case PhaseFailed, PhaseRolledBack:
		return StateFailed
	case PhaseIdle, PhaseCommitted, PhaseCancelled, "":
		return StateIdle
	}
	return StateDeploymentInProgress
}

// Reported is the whole reported deviceUpdate component as a patch:
// {"deviceUpdate": {"__t": "c", "agent": {...}, "guard": {...},
// "deferral": {...} or null, "phase": "..."}}. The agent sends it after
// every connect; Report receives it after every change.
func (m *Manager) Reported() map[string]any {
	gs := m.cfg.Gate.Status() // outside mu: the gate has its own lock
	m.mu.Lock()
	rec, def := m.rec, m.deferral
	m.mu.Unlock()

	agent := toMap(m.agentState(rec))
	res, _ := agent["lastInstallResult"].(map[string]any)
	if res != nil {
		steps, _ := res["stepResults"].(map[string]any)
		if steps == nil {
			steps = map[string]any{}
		}
		for _, k := range reportedSteps {
			if _, ok := steps[k]; !ok {
				steps[k] = nil // JSON null deletes a stale step from the twin
			}
		}
		res["stepResults"] = steps
	}
	var deferral any
	if def != nil {
		deferral = map[string]any{"action": def.Action, "reason": def.Reason, "retryAt": timeOrNil(def.RetryAt)}
	}
	return map[string]any{ComponentName: map[string]any{
		"__t":   "c",
		"agent": agent,
		"guard": map[string]any{
			"state": gs.State, "reason": gs.Reason, "since": timeOrNil(gs.Since),
			"deferrals": gs.Deferrals, "nextWindow": timeOrNil(gs.NextWindow),
		},
		"deferral": deferral,
		"phase":    string(rec.Phase),
	}}
}

func (m *Manager) agentState(rec Record) AgentState {
	st := AgentState{
		State:               aduState(rec.Phase),
		LastInstallResult:   rec.Result,
		DeviceProperties:    m.cfg.Device,
		CompatPropertyNames: CompatPropertyNames,
	}
	if rec.Workflow.ID != "" {
		wf := rec.Workflow
		st.Workflow = &wf
	}
	if id := rec.Installed.UpdateID; id != nil {
		st.InstalledUpdateID = id.ADUString()
	}
	return st
}

func (m *Manager) report() {
	if m.cfg.Report != nil {
		m.cfg.Report(m.Reported())
	}
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// toMap renders v (a struct of JSON-friendly fields) as map[string]any.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("update: reported value does not encode: %v", err)) // our own types: a bug
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("update: reported value does not decode: %v", err))
	}
	return out
}
