package update_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	agentdevice "github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	cartodev "github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
)

const settle = 20 * time.Second // generous: a loaded 2-core machine

func TestManagerInstallsActivatesAndCommits(t *testing.T) {
	r := newMgrRig(t)
	r.boot(nil)
	su := r.deploy("wf-1", "7.3.0", 8)
	rec := r.waitPhase(update.PhaseCommitted, settle)
	r.checkConsistent(rec)
	if rec.Installed.UpdateID == nil || rec.Installed.UpdateID.Version != "7.3.0" || rec.Installed.Counters[line] != 8 {
		t.Fatalf("installed = %+v", rec.Installed)
	}
	agent := r.waitReported(update.StateIdle)
	res := agent["lastInstallResult"].(map[string]any)
	if agent["state"] != float64(update.StateIdle) || res["resultCode"] != float64(update.ResultApplySuccess) ||
		agent["installedUpdateId"] != rec.Installed.UpdateID.ADUString() {
		t.Errorf("reported agent = %v", agent)
	}
	if got := r.desire(su); got != nil {
		t.Errorf("the same deployment again: HandleDesired = %v, want nil", got)
	}
	// The same update under a new workflow id is already installed.
	su.Workflow.ID = "wf-2"
	r.desire(su)
	eventually(t, settle, "already installed", func() error {
		if rec := r.mgr.Record(); rec.Workflow.ID != "wf-2" || rec.Result.ResultCode != update.ResultSkippedAlreadyInstalled {
			return fmt.Errorf("record %s %s %+v", rec.Workflow.ID, rec.Phase, rec.Result)
		}
		return nil
	})
}

// TestManagerNeverActivatesDuringACaseOrOutsideTheWindow: the update is
// staged at once, but activation waits for the window, then for a case to
// end and the quiet period to pass (issue 5).
func TestManagerNeverActivatesDuringACaseOrOutsideTheWindow(t *testing.T) {
	win, err := guard.ParseWindow("0 2 * * *", 4*time.Hour, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	r := newMgrRig(t, win) // the clock starts at 10:00: the window is closed
	r.boot(nil)
	r.deploy("wf-1", "7.3.0", 8)
	r.waitPhase(update.PhaseAwaitingActivation, settle)
	holds := func(reason string) {
		t.Helper()
		eventually(t, settle, "deferral reported", func() error {
			d, _ := r.reports.last()["deferral"].(map[string]any)
			if d == nil || d["reason"] != reason || d["action"] != "activate" {
				return fmt.Errorf("deferral %v", d)
			}
			return nil
		})
		throughout(t, 200*time.Millisecond, "activation held: "+reason, func() error {
			if rec := r.mgr.Record(); rec.Phase != update.PhaseAwaitingActivation || r.slots.ActiveSlot() != cartodev.SlotA {
				return fmt.Errorf("phase %s, slot %s", rec.Phase, r.slots.ActiveSlot())
			}
			return nil
		})
	}
	holds(guard.ReasonOutsideWindow)

	r.gate.Observe(agentdevice.CaseLive)
	for r.clk.Now().Hour() != 2 { // into the window, with the case still live
		r.clk.Advance(time.Minute)
		r.gate.Observe(agentdevice.CaseLive)
	}
	holds(guard.ReasonLive)
	r.gate.Observe(agentdevice.CaseIdle)
	holds(guard.ReasonQuiet)
	passQuiet(r.clk, r.gate)
	r.checkConsistent(r.waitPhase(update.PhaseCommitted, settle))
	if d := r.reports.last()["deferral"]; d != nil {
		t.Errorf("deferral still reported after commit: %v", d)
	}
}

// TestManagerRollsBackAFailedHealthCheck: the new slot fails its check,
// the device returns to the old slot, and the twin says why.
func TestManagerRollsBackAFailedHealthCheck(t *testing.T) {
	r := newMgrRig(t)
	r.boot(func(s *cartodev.Slots) { s.FailHealthCheck(errors.New("mapping service did not start")) })
	r.deploy("wf-1", "7.3.0", 8)
	rec := r.waitPhase(update.PhaseRolledBack, settle)
	r.checkConsistent(rec)
	if rec.Installed.UpdateID != nil {
		t.Errorf("installed = %+v after a rollback", rec.Installed.UpdateID)
	}
	agent := r.waitReported(update.StateFailed)
	res := agent["lastInstallResult"].(map[string]any)
	steps := res["stepResults"].(map[string]any)
	want := float64(update.ReasonHealthCheck.ExtendedResultCode())
	if agent["state"] != float64(update.StateFailed) || res["resultCode"] != float64(update.ResultFailure) ||
		res["extendedResultCode"] != want || steps["step_2"].(map[string]any)["extendedResultCode"] != want {
		t.Errorf("reported agent = %v", agent)
	}
}

// TestManagerCancelsBeforeActivation: cancel during the download and while
// waiting to activate; the device is untouched.
func TestManagerCancelsBeforeActivation(t *testing.T) {
	win, _ := guard.ParseWindow("0 2 * * *", time.Hour, "UTC")
	r := newMgrRig(t, win)
	r.boot(nil)
	r.srv.SetFault("carto-7.3.0.img", updatesrv.Fault{BytesPerSecond: 4 << 10})
	su := r.deploy("wf-1", "7.3.0", 8)
	r.waitPhase(update.PhaseDownloading, settle)
	su.Workflow.Action = update.ActionCancel
	r.desire(su)
	rec := r.waitPhase(update.PhaseCancelled, settle)
	r.checkConsistent(rec)
	if rec.Result.ResultCode != update.ResultFailureCancelled {
		t.Errorf("result = %+v", rec.Result)
	}

	r.srv.ClearFaults()
	su = r.deploy("wf-2", "7.3.1", 9)
	r.waitPhase(update.PhaseAwaitingActivation, settle)
	r.desire(update.ServiceUpdate{Workflow: update.Workflow{Action: update.ActionCancel, ID: "wf-2"}})
	r.checkConsistent(r.waitPhase(update.PhaseCancelled, settle))
}

// TestManagerReplacesAWaitingDeployment: a second deployment arriving
// before activation replaces the first at once.
func TestManagerReplacesAWaitingDeployment(t *testing.T) {
	win, _ := guard.ParseWindow("0 2 * * *", time.Hour, "UTC")
	r := newMgrRig(t, win)
	r.boot(nil)
	r.deploy("wf-1", "7.3.0", 8)
	r.waitPhase(update.PhaseAwaitingActivation, settle)
	r.deploy("wf-2", "7.3.1", 9)
	eventually(t, settle, "second deployment staged", func() error {
		if rec := r.mgr.Record(); rec.Workflow.ID != "wf-2" || rec.Phase != update.PhaseAwaitingActivation {
			return fmt.Errorf("workflow %s phase %s", rec.Workflow.ID, rec.Phase)
		}
		return nil
	})
	_, _, versions := r.slots.Status()
	if versions[cartodev.SlotB] != "7.3.1" {
		t.Errorf("inactive slot holds %q, want 7.3.1", versions[cartodev.SlotB])
	}
}

// TestManagerRejectsRollbackAndTampering: an older release counter and a
// tampered payload are refused with their reasons; nothing changes.
func TestManagerRejectsRollbackAndTampering(t *testing.T) {
	r := newMgrRig(t)
	r.boot(nil)
	r.deploy("wf-1", "7.3.0", 8)
	r.waitPhase(update.PhaseCommitted, settle)

	r.deploy("wf-2", "7.2.9", 7)
	rec := r.waitPhase(update.PhaseFailed, settle)
	if rec.Result.ExtendedResultCode != update.ReasonRollback.ExtendedResultCode() {
		t.Errorf("rollback attempt: result %+v", rec.Result)
	}
	r.checkConsistent(rec)

	r.srv.SetFault("carto-7.4.0.img", updatesrv.Fault{Corrupt: true})
	r.deploy("wf-3", "7.4.0", 9)
	eventually(t, settle, "tampered update rejected", func() error {
		if rec = r.mgr.Record(); rec.Workflow.ID != "wf-3" || rec.Phase != update.PhaseFailed {
			return fmt.Errorf("workflow %s phase %s", rec.Workflow.ID, rec.Phase)
		}
		return nil
	})
	if rec.Result.ExtendedResultCode != update.ReasonFileHash.ExtendedResultCode() {
		t.Errorf("tampered payload: result %+v", rec.Result)
	}
	r.checkConsistent(rec)
}
