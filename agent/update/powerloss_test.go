package update_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	cartodev "github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
)

// TestManagerRecoversFromPowerLossAtEveryStep cuts the power at each step
// of a deployment, reboots the device (slots and store read back from
// disk, a fresh guard) and checks that it reaches a consistent end:
// committed, or rolled back, never a half-installed active slot
// (DESIGN.md decision 7, issue 5).
func TestManagerRecoversFromPowerLossAtEveryStep(t *testing.T) {
	tests := []struct {
		at         cartodev.PowerLoss
		failHealth bool
		saved      update.Phase // what the disk says when the power fails
		want       update.Phase
	}{
		{cartodev.PowerLossInstall, false, update.PhaseInstalling, update.PhaseCommitted},
		{cartodev.PowerLossActivateBefore, false, update.PhaseActivating, update.PhaseCommitted},
		{cartodev.PowerLossActivateAfter, false, update.PhaseActivating, update.PhaseCommitted},
		{cartodev.PowerLossHealthCheck, false, update.PhaseHealthCheck, update.PhaseCommitted},
		{cartodev.PowerLossCommitBefore, false, update.PhaseCommitting, update.PhaseCommitted},
		{cartodev.PowerLossCommitAfter, false, update.PhaseCommitting, update.PhaseCommitted},
		{cartodev.PowerLossRollback, true, update.PhaseRollingBack, update.PhaseRolledBack},
	}
	for _, tc := range tests {
		t.Run(string(tc.at), func(t *testing.T) {
			r := newMgrRig(t)
			lost := make(chan struct{})
			r.boot(func(s *cartodev.Slots) {
				if tc.failHealth {
					s.FailHealthCheck(errors.New("mapping service did not start"))
				}
				s.PowerLossAt(tc.at, func() { r.powerCut(); close(lost) })
			})
			r.deploy("wf-1", "7.3.0", 8)
			select {
			case <-lost:
			case <-time.After(settle):
				t.Fatalf("power loss at %s never happened; phase %s", tc.at, r.mgr.Record().Phase)
			}
			r.halt()
			if got := r.savedPhase(); got != tc.saved {
				t.Fatalf("saved phase at the power loss = %s, want %s", got, tc.saved)
			}
			r.boot(nil)
			rec := r.waitAtRest()
			if rec.Phase != tc.want {
				t.Fatalf("after reboot: %s (result %+v), want %s", rec.Phase, rec.Result, tc.want)
			}
			r.checkConsistent(rec)
		})
	}
}

// TestManagerResumesADownloadAfterPowerLoss: the power fails mid-download;
// after the reboot the download resumes with a Range request.
func TestManagerResumesADownloadAfterPowerLoss(t *testing.T) {
	r := newMgrRig(t)
	r.boot(nil)
	r.srv.SetFault("carto-7.3.0.img", updatesrv.Fault{BytesPerSecond: 8 << 10})
	r.deploy("wf-1", "7.3.0", 8)
	eventually(t, settle, "download under way", func() error {
		if n := r.srv.BytesSent(); n < 10<<10 {
			return fmt.Errorf("%d bytes sent", n)
		}
		return nil
	})
	r.powerCut()
	r.halt()
	if got := r.savedPhase(); got != update.PhaseDownloading {
		t.Fatalf("saved phase = %s, want downloading", got)
	}
	r.srv.ClearFaults()
	r.boot(nil)
	rec := r.waitAtRest()
	if rec.Phase != update.PhaseCommitted {
		t.Fatalf("after reboot: %s %+v", rec.Phase, rec.Result)
	}
	r.checkConsistent(rec)
	reqs := r.srv.Requests()
	if last := reqs[len(reqs)-1]; !strings.HasPrefix(last.Range, "bytes=") || last.Status != 206 {
		t.Errorf("requests = %+v, want the download resumed with a Range request", reqs)
	}
}

// savedPhase reads the phase the store holds, with the agent stopped.
func (r *mgrRig) savedPhase() update.Phase {
	r.t.Helper()
	st, closeStore := openRecords(r.t, r.path)
	defer closeStore()
	rec, _, err := update.NewRecordStore(st).LoadState()
	if err != nil {
		r.t.Fatal(err)
	}
	return rec.Phase
}

// waitAtRest waits until the manager finished its workflow.
func (r *mgrRig) waitAtRest() update.Record {
	r.t.Helper()
	var rec update.Record
	eventually(r.t, settle, "workflow at rest", func() error {
		if rec = r.mgr.Record(); !rec.Phase.AtRest() || rec.Phase == update.PhaseIdle {
			return fmt.Errorf("phase %s", rec.Phase)
		}
		return nil
	})
	return rec
}
