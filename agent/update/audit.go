package update

import (
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// Auditor appends entries to the append-only audit log; *guard.AuditLog
// satisfies it. It must be safe for concurrent use: the guard's own
// decisions go to the same log from another goroutine.
type Auditor interface {
	Append(entries ...guard.AuditEntry) error
}

// AuditAction is the Action of every audit entry the Manager writes.
const AuditAction = "update"

// Audit decisions the Manager writes (AuditEntry.Decision). Details carry
// "workflow" and, once verified, "updateId"; results carry "resultCode",
// "extendedResultCode" and "resultDetails", and Reason names the Reason.
const (
	AuditAccepted           = "accepted"             // a deployment verified; Details: line, counters, keys
	AuditDowngrade          = "downgrade-accepted"   // it is a signed downgrade (after AuditAccepted)
	AuditRejected           = "rejected"             // refused before anything was done
	AuditAlreadyInstalled   = "already-installed"    // the deployment names the committed update
	AuditDownloaded         = "downloaded"           // every file verified on disk
	AuditStaged             = "staged"               // installed to the inactive slot
	AuditDownloadPaused     = "download-paused"      // the guard holds the download (Reason, RetryAt)
	AuditDownloadResumed    = "download-resumed"     // the guard lets it go on
	AuditInstallDeferred    = "install-deferred"     // the guard holds an install or rollback step
	AuditInstallResumed     = "install-resumed"      // ...and lets it go on
	AuditActivationDeferred = "activation-deferred"  // the guard holds activation (case, quiet, window)
	AuditActivationResumed  = "activation-resumed"   // ...and allows it
	AuditActivating         = "activating"           // about to switch slots; Details: fromSlot
	AuditActivated          = "activated"            // the new slot is active, on trial
	AuditCommitted          = "committed"            // the new slot passed its health check and is committed
	AuditFailed             = "failed"               // a step failed before activation; nothing changed
	AuditRollingBack        = "rolling-back"         // health check or commit failed
	AuditRolledBack         = "rolled-back"          // the previous slot is active again
	AuditCancelled          = "cancelled"            // cancelled by the service before activation
	AuditRootsRotated       = "roots-rotated"        // a root key package was accepted and persisted
	AuditRootsIgnored       = "roots-record-ignored" // persisted rotated roots did not verify at start
)

// guardNotices are the decisions for a guard deferral of each action the
// Manager waits for: held, then going on.
var guardNotices = map[guard.Action][2]string{
	guard.Download: {AuditDownloadPaused, AuditDownloadResumed},
	guard.Install:  {AuditInstallDeferred, AuditInstallResumed},
	guard.Activate: {AuditActivationDeferred, AuditActivationResumed},
}

// audit appends entries to the audit log, if there is one. A failed write
// is logged, not returned: the decision itself stands.
func (m *Manager) audit(entries ...guard.AuditEntry) {
	if m.cfg.Audit == nil || len(entries) == 0 {
		return
	}
	if err := m.cfg.Audit.Append(entries...); err != nil {
		m.log.Error("update audit log write failed", "err", err)
	}
}

// auditNotice records a guard deferral (d non-nil) or the go-ahead after
// one (d nil) of the running workflow's step.
func (m *Manager) auditNotice(action guard.Action, d *guard.Decision) {
	names, ok := guardNotices[action]
	if !ok {
		return
	}
	e := guard.AuditEntry{At: m.cfg.Now(), Action: AuditAction, Decision: names[1], Details: workflowDetails(m.Record())}
	if d != nil {
		e.Decision, e.Reason, e.RetryAt = names[0], d.Reason, d.RetryAt
	}
	m.audit(e)
}

// auditAccepted records a verified deployment with how it was accepted
// (the provenance is not persisted, so this is its only trace).
func (m *Manager) auditAccepted(wf Workflow, man *Manifest, now time.Time) {
	p := man.Provenance
	d := map[string]any{
		"workflow": wf.ID, "updateId": man.UpdateID, "line": man.Line, "releaseCounter": man.ReleaseCounter,
		"installedCounter": p.InstalledCounter, "rootKey": p.RootKeyID, "signingKey": p.SigningKeyID,
	}
	entries := []guard.AuditEntry{{At: now, Action: AuditAction, Decision: AuditAccepted, Details: d}}
	if p.IsDowngrade {
		entries = append(entries, guard.AuditEntry{At: now, Action: AuditAction, Decision: AuditDowngrade,
			Reason: "signed downgrade: release counter not above the installed one", Details: d})
	}
	m.audit(entries...)
}

// transitionAudit is the audit entry for the move from prev to next, if
// the move is a decision worth recording: a new phase or a new workflow.
// Accepted deployments are audited by start, with their provenance.
func transitionAudit(prev, next Record) []guard.AuditEntry {
	if next.Phase == prev.Phase && next.Workflow == prev.Workflow {
		return nil
	}
	decision, reason := transitionDecision(prev, next)
	if decision == "" {
		return nil
	}
	e := guard.AuditEntry{At: next.Since, Action: AuditAction, Decision: decision, Reason: reason, Details: workflowDetails(next)}
	switch next.Phase {
	case PhaseActivating:
		e.Details["fromSlot"] = next.PreviousSlot
	case PhaseFailed, PhaseRollingBack, PhaseRolledBack, PhaseCancelled, PhaseCommitted:
		res := next.Result
		e.Details["resultCode"], e.Details["extendedResultCode"] = res.ResultCode, res.ExtendedResultCode
		e.Details["resultDetails"] = res.ResultDetails
		if e.Reason == "" && res.ExtendedResultCode != 0 {
			e.Reason = Reason(uint32(res.ExtendedResultCode) & 0xFFFFF).String()
		}
	}
	return []guard.AuditEntry{e}
}

// transitionDecision names the decision a phase change records, and a
// reason when the phase alone does not give one.
func transitionDecision(prev, next Record) (decision, reason string) {
	switch next.Phase {
	case PhaseDownloaded:
		return AuditDownloaded, ""
	case PhaseAwaitingActivation:
		if prev.Phase == PhaseActivating {
			return AuditActivationDeferred, "activation did not begin; waiting for the guard again"
		}
		return AuditStaged, ""
	case PhaseActivating:
		return AuditActivating, ""
	case PhaseHealthCheck:
		return AuditActivated, ""
	case PhaseCommitted:
		if next.Result.ResultCode == ResultSkippedAlreadyInstalled {
			return AuditAlreadyInstalled, ""
		}
		return AuditCommitted, ""
	case PhaseRollingBack:
		return AuditRollingBack, ""
	case PhaseRolledBack:
		return AuditRolledBack, ""
	case PhaseCancelled:
		return AuditCancelled, ""
	case PhaseFailed:
		if prev.Phase.AtRest() || prev.Workflow != next.Workflow {
			return AuditRejected, ""
		}
		return AuditFailed, ""
	}
	return "", ""
}

// workflowDetails identify rec's workflow and update in an audit entry.
func workflowDetails(rec Record) map[string]any {
	d := map[string]any{"workflow": rec.Workflow.ID}
	if rec.Manifest != nil {
		d["updateId"] = rec.Manifest.UpdateID
	}
	return d
}
