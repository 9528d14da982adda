package features

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
)

// activationsSafe checks every activation against the floor, on the
// scenario clock: no live case, the quiet period over, the window open.
func (u *updateWorld) activationsSafe() error {
	u.mu.Lock()
	acts := append([]activation(nil), u.activations...)
	u.mu.Unlock()
	if len(acts) == 0 {
		return fmt.Errorf("no activation happened")
	}
	for _, a := range acts {
		switch {
		case a.live:
			return fmt.Errorf("activated at %s during a patient case", a.at.Format(time.TimeOnly))
		case !u.caseEnd.IsZero() && a.at.Sub(u.caseEnd) < guard.DefaultQuietPeriod:
			return fmt.Errorf("activated at %s, %v after the case ended", a.at.Format(time.TimeOnly), a.at.Sub(u.caseEnd))
		case !u.window.Contains(a.at):
			return fmt.Errorf("activated at %s outside the window %s", a.at.Format(time.TimeOnly), u.window)
		}
	}
	return nil
}

// reasonNamed finds the update.Reason whose name is name.
func reasonNamed(name string) (update.Reason, error) {
	for r := update.Reason(1); r < 100; r++ {
		if r.String() == name {
			return r, nil
		}
	}
	return 0, fmt.Errorf("no rejection reason is named %q", name)
}

// fails waits until the reported agent shows state with a failed result
// carrying reason's extended result code and naming it in resultDetails.
func (u *updateWorld) fails(ctx context.Context, d time.Duration, name string, state int) error {
	reason, err := reasonNamed(name)
	if err != nil {
		return err
	}
	return within(ctx, d, func() error {
		agent, _ := u.lastReport()["agent"].(map[string]any)
		res, _ := agent["lastInstallResult"].(map[string]any)
		details, _ := res["resultDetails"].(string)
		if agent["state"] != float64(state) || res["resultCode"] != float64(update.ResultFailure) ||
			res["extendedResultCode"] != float64(reason.ExtendedResultCode()) || !strings.Contains(details, name) {
			return fmt.Errorf("reported agent %v", agent)
		}
		return nil
	})
}

func (u *updateWorld) untouched(version string) error {
	if err := u.runs(version); err != nil {
		return err
	}
	active, trial, versions := u.slots.Status()
	for slot, v := range versions {
		if slot != active && v != "" {
			return fmt.Errorf("inactive slot %s holds %q", slot, v)
		}
	}
	if trial {
		return fmt.Errorf("slot %s is on trial", active)
	}
	return nil
}

func (u *updateWorld) downloading(ctx context.Context) error {
	return within(ctx, 10*time.Second, func() error {
		if n := u.srv.BytesSent(); n < 8<<10 {
			return fmt.Errorf("%d bytes sent so far", n)
		}
		return nil
	})
}

// downloadStops requires the transfer to end within d of the step and
// then nothing more to move for quiet.
func (u *updateWorld) downloadStops(ctx context.Context, d, quiet time.Duration) error {
	start := time.Now()
	err := within(ctx, d, func() error {
		if len(u.srv.Requests()) == 0 {
			return fmt.Errorf("the download request is still open after %v", time.Since(start).Round(time.Millisecond))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sent := u.srv.BytesSent()
	return throughout(ctx, quiet, func() error {
		if n, q := u.srv.BytesSent(), len(u.srv.Requests()); n != sent || q != 1 {
			return fmt.Errorf("%d bytes in %d requests, %d in 1 when it stopped", n, q, sent)
		}
		return nil
	})
}

func (u *updateWorld) resumed() error {
	reqs := u.srv.Requests()
	if len(reqs) < 2 || !strings.HasPrefix(reqs[len(reqs)-1].Range, "bytes=") || reqs[len(reqs)-1].Status != 206 {
		return fmt.Errorf("requests %+v: the last is not a resumed Range request", reqs)
	}
	return nil
}

func (u *updateWorld) rolledBack(ctx context.Context, d time.Duration, version, reason string) error {
	if err := u.fails(ctx, d, reason, update.StateFailed); err != nil {
		return err
	}
	if rec := u.mgr.Record(); rec.Phase != update.PhaseRolledBack {
		return fmt.Errorf("update state %s, want rolled back", rec.Phase)
	}
	return u.untouched(version)
}

// reboot waits for the armed power loss, then starts the device again
// from what is on disk.
func (u *updateWorld) reboot(ctx context.Context) error {
	select {
	case <-u.lost:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the power never failed; update state %s", u.mgr.Record().Phase)
	case <-ctx.Done():
		return ctx.Err()
	}
	u.halt()
	if err := u.boot(); err != nil {
		return err
	}
	return u.quietPasses() // a fresh guard holds work for the quiet period
}

// endsConsistent waits until the workflow is at rest as end and checks
// that the device runs exactly what the update state says.
func (u *updateWorld) endsConsistent(ctx context.Context, d time.Duration, version, end string) error {
	want := map[string]update.Phase{"committed": update.PhaseCommitted, "rolled back": update.PhaseRolledBack}[end]
	if err := u.phase(ctx, d, want); err != nil {
		return err
	}
	rec := u.mgr.Record()
	installed := carto.Version
	if rec.Installed.UpdateID != nil {
		installed = rec.Installed.UpdateID.Version
	}
	if installed != version {
		return fmt.Errorf("update state says %s is installed, want %s", installed, version)
	}
	if active, trial, _ := u.slots.Status(); trial {
		return fmt.Errorf("slot %s is still on trial", active)
	}
	return u.runs(version)
}
