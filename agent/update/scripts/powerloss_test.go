package scripts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update/scripts"
)

// settle bounds waits for a step on a loaded machine.
const settle = 30 * time.Second

// do runs the named Installer step on h.
func (r *rig) do(h *scripts.Handler, step string) error {
	ctx := r.t.Context()
	switch step {
	case "install":
		return h.InstallToInactive(ctx, id("1.0.1"), stage(r.t, stepFiles("1.0.1")))
	case "activate":
		return h.Activate(ctx)
	case "health":
		return h.HealthCheck(ctx)
	case "commit":
		return h.Commit()
	case "rollback":
		return h.Rollback()
	}
	r.t.Fatalf("unknown step %q", step)
	return nil
}

// powerLoss returns a rig on a copy of r's disk taken while step runs
// (blocked, after its program started) or, with blocked false, just after
// it returned: the disk a power loss at that moment leaves. r's step is
// then let run to its end, and the copy is booted (New on its Dir).
// While the step runs, r's ActiveSlot must answer at once and agree with
// the rebooted copy.
func (r *rig) powerLoss(step string, blocked bool) *rig {
	r.t.Helper()
	if !blocked {
		if err := r.do(r.h, step); err != nil {
			r.t.Fatalf("%s: %v", step, err)
		}
		return r.reboot()
	}
	r.touch("block-" + step)
	done := make(chan error, 1)
	go func() { done <- r.do(r.h, step) }()
	eventually(r.t, settle, step+" program blocked", r.exists("blocked-"+step))
	lost := r.reboot()
	if running, rebooted := r.h.ActiveSlot(), lost.h.ActiveSlot(); running != rebooted {
		r.t.Fatalf("during %s ActiveSlot() = %s, but after a power loss it would be %s", step, running, rebooted)
	}
	r.remove("block-" + step)
	select {
	case err := <-done:
		if err != nil {
			r.t.Fatalf("%s, let run to its end: %v", step, err)
		}
	case <-time.After(settle):
		r.t.Fatalf("%s did not end within %v once unblocked", step, settle)
	}
	lost.remove("block-" + step)
	return lost
}

// reboot copies r's disk to a new root and opens a Handler there.
func (r *rig) reboot() *rig {
	r.t.Helper()
	root := filepath.Join(r.t.TempDir(), "rebooted")
	if err := os.CopyFS(root, os.DirFS(r.root)); err != nil {
		r.t.Fatal(err)
	}
	lost := &rig{t: r.t, root: root}
	lost.h = lost.open()
	return lost
}

// TestHandlerRecoversFromPowerLossAtEveryPoint cuts the power during and
// after each step (the disk is copied at that moment and a new Handler
// boots on the copy), checks what ActiveSlot reports and what the state
// file holds, then repeats or continues the steps as the Manager would
// (its Record.Recover resolves an interrupted activation from ActiveSlot)
// and checks the device ends consistent: no double commit, no
// half-activated slot (DESIGN.md decision 7).
func TestHandlerRecoversFromPowerLossAtEveryPoint(t *testing.T) {
	tests := []struct {
		name      string
		before    []string // steps completed before the power loss
		at        string   // the step in flight
		blocked   bool     // during the step (else just after it)
		active    string   // ActiveSlot after the reboot
		stage     string   // trial on disk after the reboot
		refused   string   // a step that must be refused after the reboot
		resume    []string // what the Manager does next
		endActive string
		runs      map[string]int // program runs over both lives
	}{
		{"during install", nil, "install", true, "A", "", "activate",
			[]string{"install", "activate", "health", "commit"}, "B", map[string]int{"install": 2, "activate": 1}},
		{"after install", nil, "install", false, "A", "", "",
			[]string{"install", "activate", "health", "commit"}, "B", map[string]int{"install": 2, "activate": 1}},
		{"during activate", []string{"install"}, "activate", true, "A", "B:activating", "commit",
			[]string{"activate", "health", "commit"}, "B", map[string]int{"activate": 2, "rollback": 0}},
		{"during activate, then a new install", []string{"install"}, "activate", true, "A", "B:activating", "",
			[]string{"install"}, "A", map[string]int{"activate": 1, "rollback": 1, "install": 2}},
		{"after activate", []string{"install"}, "activate", false, "B", "B:onTrial", "",
			[]string{"activate", "health", "commit"}, "B", map[string]int{"activate": 1}},
		{"during health check", []string{"install", "activate"}, "health", true, "B", "B:onTrial", "",
			[]string{"health", "commit"}, "B", map[string]int{"health": 2}},
		{"during commit", []string{"install", "activate", "health"}, "commit", true, "B", "B:onTrial", "",
			[]string{"commit"}, "B", map[string]int{"commit": 2}},
		{"after commit", []string{"install", "activate", "health"}, "commit", false, "B", "", "",
			[]string{"commit", "rollback"}, "B", map[string]int{"commit": 1, "rollback": 0}},
		{"during rollback", []string{"install", "activate"}, "rollback", true, "B", "B:onTrial", "",
			[]string{"rollback", "rollback"}, "A", map[string]int{"rollback": 2}},
		{"after rollback", []string{"install", "activate"}, "rollback", false, "A", "", "activate",
			[]string{"rollback"}, "A", map[string]int{"rollback": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			for _, step := range tc.before {
				if err := r.do(r.h, step); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			lost := r.powerLoss(tc.at, tc.blocked)
			lost.wantActive(lost.h, tc.active)
			if got := lost.saved().stage(); got != tc.stage {
				t.Fatalf("trial on disk after the reboot = %q, want %q", got, tc.stage)
			}
			if tc.refused != "" {
				if err := lost.do(lost.h, tc.refused); err == nil {
					t.Fatalf("%s after the reboot succeeded; want it refused", tc.refused)
				}
			}
			for _, step := range tc.resume {
				if err := lost.do(lost.h, step); err != nil {
					t.Fatalf("%s after the reboot: %v", step, err)
				}
			}
			lost.checkEnd(tc.endActive, tc.runs)
		})
	}
}

// checkEnd checks the rebooted device ended with active committed and
// nothing on trial, the device running that slot, and the programs run as
// often as runs says.
func (r *rig) checkEnd(active string, runs map[string]int) {
	r.t.Helper()
	r.wantActive(r.h, active)
	r.wantActive(r.open(), active)
	if s := r.saved(); s.Trial != nil || s.Active != active {
		r.t.Fatalf("state at the end = %+v, want %s committed and nothing on trial", s, active)
	}
	if got := r.device("current"); got != active {
		r.t.Fatalf("the device runs slot %q, ActiveSlot says %s", got, active)
	}
	for step, want := range runs {
		if got := r.runs(step); got != want {
			r.t.Errorf("%s ran %d times, want %d; log:\n%s", step, got, want, strings.TrimSpace(r.device("log")))
		}
	}
}
