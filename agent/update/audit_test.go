package update_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	agentdevice "github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
)

// auditRec is an in-memory audit log.
type auditRec struct {
	mu  sync.Mutex
	all []guard.AuditEntry
}

var _ update.Auditor = (*auditRec)(nil)

func (a *auditRec) Append(es ...guard.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = append(a.all, es...)
	return nil
}

// decisions lists the Manager's decisions in order.
func (a *auditRec) decisions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.all {
		if e.Action == update.AuditAction {
			out = append(out, e.Decision)
		}
	}
	return out
}

// last returns the latest entry with decision d for workflow wf.
func (a *auditRec) last(d, wf string) (guard.AuditEntry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.all) - 1; i >= 0; i-- {
		if e := a.all[i]; e.Action == update.AuditAction && e.Decision == d && (wf == "" || e.Details["workflow"] == wf) {
			return e, true
		}
	}
	return guard.AuditEntry{}, false
}

// want fails unless an entry with decision d for workflow wf exists.
func (a *auditRec) want(t *testing.T, d, wf string) guard.AuditEntry {
	t.Helper()
	e, ok := a.last(d, wf)
	if !ok {
		t.Fatalf("no audit entry %q for %s; decisions: %v", d, wf, a.decisions())
	}
	return e
}

// deploySigned publishes a one-file update and deploys it signed by sk;
// edit may change the manifest, rootsURL names a root key package.
func (r *mgrRig) deploySigned(workflow, version string, counter uint64, sk *updatetest.SigningKey,
	edit func(*update.Manifest), rootsURL string) update.ServiceUpdate {
	r.t.Helper()
	entry := r.srv.Publish("carto-"+version+".img", bytes.Repeat([]byte(version), 4<<10))
	m := updatetest.Manifest(carto, line, counter, now.Add(90*24*time.Hour), entry)
	m.UpdateID.Version = version
	if edit != nil {
		edit(&m)
	}
	su, err := r.srv.Deploy(m, sk, workflow)
	if err != nil {
		r.t.Fatal(err)
	}
	su.RootKeyPackageURL = rootsURL
	r.desire(su)
	return su
}

// TestManagerAuditsTheWorkflowFromAcceptedToCommitted: every decision of
// a deployment lands in the audit log in order, the guard's hold on
// activation included, and the accepted entry says how it was trusted
// (UPDATES.md §5.8).
func TestManagerAuditsTheWorkflowFromAcceptedToCommitted(t *testing.T) {
	win, err := guard.ParseWindow("0 2 * * *", 4*time.Hour, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	r := newMgrRig(t, win) // 10:00: the window is closed
	r.boot(nil)
	r.deploy("wf-1", "7.3.0", 8)
	r.waitPhase(update.PhaseAwaitingActivation, settle)
	eventually(t, settle, "activation deferral audited", func() error {
		if _, ok := r.audits.last(update.AuditActivationDeferred, "wf-1"); !ok {
			return fmt.Errorf("decisions %v", r.audits.decisions())
		}
		return nil
	})
	for r.clk.Now().Hour() != 2 {
		r.clk.Advance(time.Minute)
		r.gate.Observe(agentdevice.CaseIdle)
	}
	r.waitPhase(update.PhaseCommitted, settle)

	want := []string{update.AuditAccepted, update.AuditDownloaded, update.AuditStaged, update.AuditActivationDeferred,
		update.AuditActivationResumed, update.AuditActivating, update.AuditActivated, update.AuditCommitted}
	if got := r.audits.decisions(); !slices.Equal(got, want) {
		t.Fatalf("audited decisions = %v, want %v", got, want)
	}
	acc := r.audits.want(t, update.AuditAccepted, "wf-1")
	if acc.Details["releaseCounter"] != uint64(8) || acc.Details["rootKey"] != "root-1" || acc.Details["signingKey"] != "signing-1" ||
		acc.Details["updateId"].(update.UpdateID).Version != "7.3.0" {
		t.Errorf("accepted entry details = %v", acc.Details)
	}
	def := r.audits.want(t, update.AuditActivationDeferred, "wf-1")
	if def.Reason != guard.ReasonOutsideWindow || def.RetryAt.Hour() != 2 {
		t.Errorf("activation deferral = %+v, want outside the window until 02:00", def)
	}
	if e := r.audits.want(t, update.AuditActivating, "wf-1"); e.Details["fromSlot"] != "A" {
		t.Errorf("activating entry = %+v, want fromSlot A", e)
	}
	if e := r.audits.want(t, update.AuditCommitted, "wf-1"); e.Details["resultCode"] != int32(update.ResultApplySuccess) {
		t.Errorf("committed entry = %+v, want result code 700", e)
	}
}

// TestManagerAuditsRejectionsRollbacksAndDowngrades: a refused deployment
// is audited with its result code and reason, a failed health check with
// the rollback, and a signed downgrade is logged as such (FDA: no
// downgrade except a logged path).
func TestManagerAuditsRejectionsRollbacksAndDowngrades(t *testing.T) {
	r := newMgrRig(t)
	r.boot(nil)
	r.deploy("wf-1", "7.3.0", 8)
	r.waitPhase(update.PhaseCommitted, settle)

	r.deploy("wf-2", "7.3.1", 8) // not above the installed counter
	r.waitPhase(update.PhaseFailed, settle)
	rej := r.audits.want(t, update.AuditRejected, "wf-2")
	if rej.Reason != "rollback" || rej.Details["resultCode"] != int32(update.ResultFailure) ||
		rej.Details["extendedResultCode"] != update.ReasonRollback.ExtendedResultCode() {
		t.Errorf("rejected entry = %+v", rej)
	}

	r.slots.FailHealthCheck(errors.New("mapping service does not start"))
	r.deploy("wf-3", "7.4.0", 9)
	r.waitPhase(update.PhaseRolledBack, settle)
	r.audits.want(t, update.AuditRollingBack, "wf-3")
	if e := r.audits.want(t, update.AuditRolledBack, "wf-3"); e.Reason != "health-check" {
		t.Errorf("rolled-back entry = %+v, want reason health-check", e)
	}

	r.slots.FailHealthCheck(nil)
	r.deploySigned("wf-4", "7.2.0", 7, r.fix.signer, func(m *update.Manifest) { m.Downgrade = true }, "")
	r.waitPhase(update.PhaseCommitted, settle)
	dg := r.audits.want(t, update.AuditDowngrade, "wf-4")
	if dg.Details["installedCounter"] != uint64(8) || dg.Details["releaseCounter"] != uint64(7) || !strings.Contains(dg.Reason, "downgrade") {
		t.Errorf("downgrade entry = %+v", dg)
	}
}
