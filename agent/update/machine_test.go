package update_test

import (
	"errors"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// inPhase is a started deployment moved to phase p, on slot A before
// activation.
func inPhase(t *testing.T, p update.Phase) update.Record {
	t.Helper()
	f := newFixture(t)
	m, err := f.verifier.Verify(f.deploy(t, f.manifest()), now, installed(0))
	if err != nil {
		t.Fatal(err)
	}
	rec := update.Record{}.Start(m, f.deploy(t, f.manifest()), now)
	rec.Phase, rec.PreviousSlot = p, "A"
	return rec
}

// TestRecoverAfterRestart: an interrupted activation resolves by the slot
// the device booted into (issue 5: power loss at each step).
func TestRecoverAfterRestart(t *testing.T) {
	tests := []struct {
		phase  update.Phase
		active string
		want   update.Phase
	}{
		{update.PhaseActivating, "B", update.PhaseHealthCheck},
		{update.PhaseActivating, "A", update.PhaseAwaitingActivation},
		{update.PhaseHealthCheck, "B", update.PhaseHealthCheck},
		{update.PhaseHealthCheck, "A", update.PhaseRolledBack},
		{update.PhaseCommitting, "A", update.PhaseRolledBack},
		{update.PhaseCommitting, "B", update.PhaseCommitting},
		{update.PhaseInstalling, "A", update.PhaseInstalling},
		{update.PhaseDownloading, "A", update.PhaseDownloading},
		{update.PhaseRollingBack, "B", update.PhaseRollingBack},
		{update.PhaseActivating, "", update.PhaseActivating}, // the installer cannot tell: leave it
	}
	for _, tc := range tests {
		got := inPhase(t, tc.phase).Recover(tc.active, now)
		if got.Phase != tc.want {
			t.Errorf("Recover(%s, active %q) = %s, want %s", tc.phase, tc.active, got.Phase, tc.want)
		}
	}
}

// TestInterruptedStepsAreBounded: a step that keeps killing the device
// ends the workflow instead of looping: install fails, a health check
// rolls back.
func TestInterruptedStepsAreBounded(t *testing.T) {
	rec := inPhase(t, update.PhaseDownloaded)
	for range update.MaxInstallAttempts {
		if rec = rec.Enter(update.StepInstall, "A", now); rec.Phase != update.PhaseInstalling {
			t.Fatalf("install attempt %d: %s", rec.InstallAttempts, rec.Phase)
		}
	}
	rec = rec.Enter(update.StepInstall, "A", now)
	if rec.Phase != update.PhaseFailed || !errors.Is(&update.Error{Reason: update.ReasonAttempts}, update.ReasonAttempts) ||
		rec.Result.ExtendedResultCode != update.ReasonAttempts.ExtendedResultCode() {
		t.Errorf("after %d interrupted installs: %s %+v", update.MaxInstallAttempts, rec.Phase, rec.Result)
	}

	rec = inPhase(t, update.PhaseHealthCheck)
	for range update.MaxHealthAttempts {
		rec = rec.Enter(update.StepHealthCheck, "B", now)
	}
	if rec = rec.Enter(update.StepHealthCheck, "B", now); rec.Phase != update.PhaseRollingBack {
		t.Errorf("after %d interrupted health checks: %s", update.MaxHealthAttempts, rec.Phase)
	}
}

func TestCancelOnlyBeforeActivation(t *testing.T) {
	for _, p := range []update.Phase{update.PhaseVerified, update.PhaseDownloading, update.PhaseDownloaded,
		update.PhaseInstalling, update.PhaseAwaitingActivation} {
		got, ok := inPhase(t, p).Cancel(now)
		if !ok || got.Phase != update.PhaseCancelled || got.Result.ResultCode != update.ResultFailureCancelled {
			t.Errorf("Cancel in %s = %s %v %+v", p, got.Phase, ok, got.Result)
		}
	}
	for _, p := range []update.Phase{update.PhaseActivating, update.PhaseHealthCheck, update.PhaseCommitting,
		update.PhaseRollingBack, update.PhaseCommitted, update.PhaseFailed} {
		if got, ok := inPhase(t, p).Cancel(now); ok || got.Phase != p {
			t.Errorf("Cancel in %s = %s %v, want refused", p, got.Phase, ok)
		}
	}
}

func TestFinishActivationTrustsTheSlotNotTheError(t *testing.T) {
	rec := inPhase(t, update.PhaseActivating)
	if got := rec.Finish(update.StepActivate, errors.New("reboot reported an error"), "B", now); got.Phase != update.PhaseHealthCheck {
		t.Errorf("switched with an error: %s, want healthCheck", got.Phase)
	}
	got := rec.Finish(update.StepActivate, nil, "A", now)
	if got.Phase != update.PhaseFailed || got.Result.ExtendedResultCode != update.ReasonActivate.ExtendedResultCode() {
		t.Errorf("not switched: %s %+v, want failed/activate", got.Phase, got.Result)
	}
	if got := inPhase(t, update.PhaseRollingBack).Finish(update.StepRollback, errors.New("busy"), "B", now); got.Phase != update.PhaseRollingBack {
		t.Errorf("failed rollback: %s, want still rollingBack", got.Phase)
	}
}

func TestCommitRecordsTheInstalledUpdate(t *testing.T) {
	rec := inPhase(t, update.PhaseCommitting)
	before := rec.State()
	got := rec.Finish(update.StepCommit, nil, "B", now)
	if got.Phase != update.PhaseCommitted || got.Installed.UpdateID == nil || got.Installed.Counters[line] != 7 ||
		got.Result.ResultCode != update.ResultApplySuccess {
		t.Fatalf("commit: %s %+v %+v", got.Phase, got.Installed, got.Result)
	}
	if rec.State().Counter(line) != before.Counter(line) || rec.Installed.UpdateID != nil {
		t.Errorf("Finish changed its receiver: %+v", rec.Installed)
	}
}
