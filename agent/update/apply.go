package update

import (
	"encoding/json"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// Pending is the deployment an "apply now" request acts on: the workflow
// in progress, or else the desired one about to start.
type Pending struct {
	Workflow Workflow
	// UpdateID is what the manifest names: verified for a workflow in
	// progress, as read (unverified, for matching only) for one that has
	// not started. Nil if the manifest does not say.
	UpdateID *UpdateID
	// Phase is the workflow's phase; "" when it has not started.
	Phase Phase
	// Waits is the guard action the next step needs (guard.Download,
	// guard.Install or guard.Activate); 0 when the step needs none
	// (health check, commit).
	Waits guard.Action
}

// Pending returns the deployment in progress or about to start; ok is
// false when there is none (the last one is at rest and no new one is
// desired).
func (m *Manager) Pending() (p Pending, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec := m.rec; !rec.Phase.AtRest() {
		p = Pending{Workflow: rec.Workflow, Phase: rec.Phase, Waits: stepAction(rec.Next())}
		if rec.Manifest != nil {
			id := rec.Manifest.UpdateID
			p.UpdateID = &id
		}
		return p, true
	}
	su := m.next
	if su == nil {
		return Pending{}, false
	}
	p = Pending{Workflow: su.Workflow, Waits: guard.Download}
	var peek struct {
		UpdateID *UpdateID `json:"updateId"`
	}
	if json.Unmarshal([]byte(su.UpdateManifest), &peek) == nil {
		p.UpdateID = peek.UpdateID
	}
	return p, true
}

// stepAction is the guard action step s waits for.
func stepAction(s Step) guard.Action {
	switch s {
	case StepDownload:
		return guard.Download
	case StepInstall, StepRollback:
		return guard.Install
	case StepActivate:
		return guard.Activate
	}
	return 0
}

// Nudge asks Run to go on with the pending deployment now: a wait before
// a retry (a failed download request, a failed rollback) ends at once and
// Run re-evaluates its work. It never widens what the guard allows: a step
// that needs the guard still waits for it.
func (m *Manager) Nudge() {
	m.mu.Lock()
	close(m.kick)
	m.kick = make(chan struct{})
	m.mu.Unlock()
	m.signal()
}

// kicked returns the channel the next Nudge closes.
func (m *Manager) kicked() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kick
}
