package scripts_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update/scripts"
)

// TestHandlerInstallsActivatesChecksAndCommits walks one update through
// every step and checks the state on disk after each (DESIGN.md decision
// 7: install to the inactive slot, activate, health check, commit).
func TestHandlerInstallsActivatesChecksAndCommits(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	if got := r.saved(); got.Active != "A" || got.Slots["A"].Status != "factory" || got.Slots["B"].Status != "empty" {
		t.Fatalf("fresh state = %+v, want factory software committed in A and B empty", got)
	}

	if err := r.h.InstallToInactive(ctx, id("1.0.1"), stage(t, stepFiles("1.0.1"))); err != nil {
		t.Fatal(err)
	}
	r.wantActive(r.h, "A")
	if s := r.saved().Slots["B"]; s.Status != "installed" || s.UpdateID == nil || *s.UpdateID != id("1.0.1") {
		t.Fatalf("slot B after install = %+v, want 1.0.1 installed", s)
	}
	for _, f := range []string{"package.json", "step.sh", "payload.txt", "installed.txt"} {
		if _, err := os.Stat(filepath.Join(r.dir(), "slots", "B", f)); err != nil {
			t.Errorf("slot B lacks %s: %v", f, err)
		}
	}
	r.checkInstallEnv()

	if err := r.h.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	r.wantActive(r.h, "B")
	if got := r.saved().stage(); got != "B:onTrial" {
		t.Fatalf("trial after activate = %q, want B:onTrial", got)
	}
	if err := r.h.HealthCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.h.Commit(); err != nil {
		t.Fatal(err)
	}
	got := r.saved()
	if got.Active != "B" || got.Previous != "A" || got.Trial != nil {
		t.Fatalf("state after commit = %+v, want B committed, A previous", got)
	}
	if r.device("current") != "B" || r.device("committed") != "B" {
		t.Fatalf("device runs %q, committed %q; want B and B", r.device("current"), r.device("committed"))
	}
	r.wantActive(r.open(), "B") // a reboot reads the same
}

// checkInstallEnv checks the CLOUDPILLAR_* environment install saw.
func (r *rig) checkInstallEnv() {
	r.t.Helper()
	env := r.device("env-install")
	slots := filepath.Join(r.dir(), "slots")
	for _, want := range []string{
		"CLOUDPILLAR_STEP=install",
		"CLOUDPILLAR_SLOT=B",
		"CLOUDPILLAR_SLOT_DIR=" + filepath.Join(slots, "B"),
		"CLOUDPILLAR_ACTIVE_SLOT=A",
		"CLOUDPILLAR_ACTIVE_SLOT_DIR=" + filepath.Join(slots, "A"),
		"CLOUDPILLAR_PREVIOUS_SLOT=A",
		"CLOUDPILLAR_UPDATE_PROVIDER=Cloud-Pillar",
		"CLOUDPILLAR_UPDATE_NAME=carto3",
		"CLOUDPILLAR_UPDATE_VERSION=1.0.1",
	} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			r.t.Errorf("install environment lacks %s:\n%s", want, env)
		}
	}
}

// TestHandlerInstallFailureLeavesTheActiveSlotAlone: a failing install
// program is an error naming the step, slot, exit code and stderr; the
// active slot and the device are untouched and the half-installed slot
// cannot be activated.
func TestHandlerInstallFailureLeavesTheActiveSlotAlone(t *testing.T) {
	r := newRig(t)
	r.touch("fail-install")
	err := r.h.InstallToInactive(t.Context(), id("1.0.1"), stage(t, stepFiles("1.0.1")))
	for _, want := range []string{"install (slot B)", "exit code 3", "install of 1.0.1 failed on purpose"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("InstallToInactive = %v, want an error containing %q", err, want)
		}
	}
	r.wantActive(r.h, "A")
	if s := r.saved(); s.Active != "A" || s.Slots["B"].Status != "installing" || s.Slots["A"].Status != "factory" {
		t.Fatalf("state = %+v, want A active and B marked as not installed", s)
	}
	if err := r.h.Activate(t.Context()); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("Activate after a failed install = %v, want a refusal", err)
	}
	if r.runs("activate") != 0 || r.device("current") != "A" {
		t.Fatalf("activate ran %d times, device on %q; want nothing run, still A", r.runs("activate"), r.device("current"))
	}
}

// TestHandlerRollsBackAfterAFailedHealthCheck: 1.0.1 is committed in B,
// 1.0.2 goes to A and fails its health check; Rollback returns the
// device to B with B's files as 1.0.1 left them, and a repeat does
// nothing.
func TestHandlerRollsBackAfterAFailedHealthCheck(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	r.update("1.0.1")
	if err := r.h.InstallToInactive(ctx, id("1.0.2"), stage(t, stepFiles("1.0.2"))); err != nil {
		t.Fatal(err)
	}
	if err := r.h.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	r.wantActive(r.h, "A")
	r.touch("fail-health")
	if err := r.h.HealthCheck(ctx); err == nil || !strings.Contains(err.Error(), "exit code 3") {
		t.Fatalf("HealthCheck = %v, want exit code 3", err)
	}
	if err := r.h.Rollback(); err != nil {
		t.Fatal(err)
	}
	r.wantActive(r.h, "B")
	if b, _ := os.ReadFile(filepath.Join(r.dir(), "slots", "B", "installed.txt")); string(b) != "1.0.1" {
		t.Fatalf("slot B's marker = %q, want 1.0.1 untouched", b)
	}
	if s := r.saved(); s.Active != "B" || s.Trial != nil || s.Slots["A"].Status != "rolledBack" {
		t.Fatalf("state after rollback = %+v, want B active, A rolled back", s)
	}
	if r.device("current") != "B" {
		t.Fatalf("device runs %q after rollback, want B", r.device("current"))
	}
	if err := r.h.Rollback(); err != nil || r.runs("rollback") != 1 {
		t.Fatalf("repeated Rollback = %v with %d rollback runs, want nil and 1", err, r.runs("rollback"))
	}
	if err := r.h.Activate(ctx); err == nil {
		t.Fatal("Activate of the rolled-back slot succeeded; it must be installed again first")
	}
}

// update installs, activates, checks and commits version.
func (r *rig) update(version string) {
	r.t.Helper()
	ctx := r.t.Context()
	if err := r.h.InstallToInactive(ctx, id(version), stage(r.t, stepFiles(version))); err != nil {
		r.t.Fatal(err)
	}
	for _, step := range []func() error{func() error { return r.h.Activate(ctx) }, func() error { return r.h.HealthCheck(ctx) }, r.h.Commit} {
		if err := step(); err != nil {
			r.t.Fatal(err)
		}
	}
}

// TestHandlerUndoesAFailedActivation: activate fails, rollback undoes it,
// and the old slot stays active, so the Manager truthfully records that
// nothing changed.
func TestHandlerUndoesAFailedActivation(t *testing.T) {
	r := newRig(t)
	if err := r.h.InstallToInactive(t.Context(), id("1.0.1"), stage(t, stepFiles("1.0.1"))); err != nil {
		t.Fatal(err)
	}
	r.touch("fail-activate")
	err := r.h.Activate(t.Context())
	if err == nil || !strings.Contains(err.Error(), "activate (slot B): exit code 3") || !strings.Contains(err.Error(), "undone") {
		t.Fatalf("Activate = %v, want the activate failure, undone", err)
	}
	r.wantActive(r.h, "A")
	if s := r.saved(); s.Trial != nil || s.Slots["B"].Status != "installed" {
		t.Fatalf("state = %+v, want nothing on trial and B still installed", s)
	}
	if r.runs("rollback") != 1 || r.device("current") != "A" {
		t.Fatalf("rollback ran %d times, device on %q; want 1 and A", r.runs("rollback"), r.device("current"))
	}
}

// TestHandlerReportsAnActivationItCannotUndo: activate and its undo both
// fail. ActiveSlot reports the new slot, so the Manager goes on to the
// health check, which fails without running anything, and then rolls
// back until the rollback program succeeds.
func TestHandlerReportsAnActivationItCannotUndo(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	if err := r.h.InstallToInactive(ctx, id("1.0.1"), stage(t, stepFiles("1.0.1"))); err != nil {
		t.Fatal(err)
	}
	r.touch("fail-activate")
	r.touch("fail-rollback")
	if err := r.h.Activate(ctx); err == nil {
		t.Fatal("Activate succeeded with a failing activate program")
	}
	r.wantActive(r.h, "B")
	if got := r.saved().stage(); got != "B:activateFailed" {
		t.Fatalf("trial = %q, want B:activateFailed", got)
	}
	r.wantActive(r.open(), "B") // and after a reboot
	if err := r.h.HealthCheck(ctx); err == nil || r.runs("health") != 0 {
		t.Fatalf("HealthCheck = %v after %d health runs, want a failure without running health", err, r.runs("health"))
	}
	if err := r.h.Rollback(); err == nil {
		t.Fatal("Rollback succeeded with a failing rollback program")
	}
	r.wantActive(r.h, "B")
	r.remove("fail-rollback")
	if err := r.h.Rollback(); err != nil {
		t.Fatal(err)
	}
	r.wantActive(r.h, "A")
}

// TestHandlerErrorKeepsTheTailOfStderr: a program's error carries only
// the last 4 KiB of what it wrote to stderr.
func TestHandlerErrorKeepsTheTailOfStderr(t *testing.T) {
	r := newRig(t)
	files := stepFiles("1.0.1")
	files["noisy.sh"] = `i=0
echo "first line of the output" >&2
while [ $i -lt 400 ]; do echo "filler line number $i of the noisy output" >&2; i=$((i+1)); done
echo "the last words" >&2
exit 7
`
	files["package.json"] = strings.Replace(stepPackage, `["sh", "./step.sh", "install"]`, `["sh", "./noisy.sh"]`, 1)
	err := r.h.InstallToInactive(t.Context(), id("1.0.1"), stage(t, files))
	if err == nil {
		t.Fatal("InstallToInactive succeeded; want exit code 7")
	}
	msg := err.Error()
	if !strings.Contains(msg, "exit code 7") || !strings.Contains(msg, "the last words") || strings.Contains(msg, "first line") {
		t.Fatalf("error = %.300q..., want exit code 7 and the end of stderr without its start", msg)
	}
	if len(msg) > 4<<10+200 {
		t.Fatalf("error is %d bytes; stderr must be kept to its last 4 KiB", len(msg))
	}
}

// TestNewRejectsBadConfig: impossible configurations fail at New.
func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  scripts.Config
		want string
	}{
		{"no dir", scripts.Config{}, "Dir is required"},
		{"negative timeout", scripts.Config{Dir: dir, Timeout: -1}, "negative"},
		{"env without =", scripts.Config{Dir: dir, Env: []string{"FOO"}}, "not KEY=VALUE"},
		{"reserved env", scripts.Config{Dir: dir, Env: []string{"CLOUDPILLAR_SLOT=A"}}, "reserved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := scripts.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
			}
		})
	}
}

// TestHandlerStepsWithNothingToDo: Commit and Rollback with nothing on
// trial do nothing; a health check of factory software has no program.
func TestHandlerStepsWithNothingToDo(t *testing.T) {
	r := newRig(t)
	if err := errors.Join(r.h.Commit(), r.h.Rollback()); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HealthCheck(context.Background()); err == nil || !strings.Contains(err.Error(), "factory") {
		t.Fatalf("HealthCheck on factory software = %v, want an error naming it", err)
	}
	r.wantActive(r.h, "A")
}
