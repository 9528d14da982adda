package update_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
)

// TestPendingNamesTheDeploymentAndTheGuardActionItWaitsFor: nothing is
// pending at rest; a deployment held for its window is pending on
// guard.Activate with its verified update id.
func TestPendingNamesTheDeploymentAndTheGuardActionItWaitsFor(t *testing.T) {
	win, err := guard.ParseWindow("0 2 * * *", 4*time.Hour, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	r := newMgrRig(t, win)
	r.boot(nil)
	if p, ok := r.mgr.Pending(); ok {
		t.Fatalf("Pending at rest = %+v, want none", p)
	}
	r.deploy("wf-1", "7.3.0", 8)
	r.waitPhase(update.PhaseAwaitingActivation, settle)
	p, ok := r.mgr.Pending()
	if !ok || p.Workflow.ID != "wf-1" || p.Phase != update.PhaseAwaitingActivation || p.Waits != guard.Activate ||
		p.UpdateID == nil || p.UpdateID.Version != "7.3.0" {
		t.Fatalf("Pending = %+v, %v; want wf-1 awaiting activation on the guard", p, ok)
	}
}

// TestNudgeEndsAWaitBeforeARetry: a download request that failed waits
// before its retry (here up to an hour); Nudge, what the applyUpdate
// method calls, ends the wait and the deployment goes on at once.
func TestNudgeEndsAWaitBeforeARetry(t *testing.T) {
	r := newMgrRig(t)
	r.dl.RetryBase = time.Hour
	r.boot(nil)
	r.srv.SetFault("carto-7.3.0.img", updatesrv.Fault{Status: 503, Times: 1})
	r.deploy("wf-1", "7.3.0", 8)
	eventually(t, settle, "the first request to fail", func() error {
		if len(r.srv.Requests()) == 0 {
			return fmt.Errorf("no request yet")
		}
		return nil
	})
	// Nudge until the deployment moves: a nudge that lands before the
	// retry wait begins has nothing to end.
	eventually(t, settle, "the download retried after a nudge", func() error {
		r.mgr.Nudge()
		if rec := r.mgr.Record(); rec.Phase != update.PhaseCommitted {
			return fmt.Errorf("phase %s", rec.Phase)
		}
		return nil
	})
	if n := len(r.srv.Requests()); n != 2 {
		t.Errorf("%d requests, want the failed one and its retry", n)
	}
}
