package features

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
)

// registerUpdateSteps registers the patch-safety steps with their own
// scenario state, torn down by an After hook.
func (w *world) registerUpdateSteps(sc *godog.ScenarioContext) {
	var u *updateWorld
	given := func(f func(*updateWorld) error) func() error {
		return func() error { return need(u, f) }
	}
	sc.Step(`^a virtual CARTO device running software "([^"]*)" with A/B slots$`, func(v string) error {
		var err error
		if u, err = newUpdateWorld(w.log); err != nil {
			return err
		}
		if v != carto.Version {
			return fmt.Errorf("a new virtual CARTO runs %s, not %s", carto.Version, v)
		}
		return u.boot()
	})
	sc.Step(`^the device has been idle for longer than the quiet period$`, given((*updateWorld).quietPasses))
	sc.Step(`^the quiet period passes$`, given((*updateWorld).quietPasses))
	sc.Step(`^it is outside the maintenance window$`, given((*updateWorld).outsideWindow))
	sc.Step(`^the maintenance window (?:is open|opens)$`, given((*updateWorld).windowOpens))
	sc.Step(`^a patient case (?:is live|starts)$`, given((*updateWorld).caseStarts))
	sc.Step(`^the patient case ends$`, given((*updateWorld).caseEnds))
	sc.Step(`^the update server corrupts the payload of "([^"]*)"$`, func(v string) error {
		return need(u, func(u *updateWorld) error { return u.fault(v, updatesrv.Fault{Corrupt: true}) })
	})
	sc.Step(`^the update server sends "([^"]*)" slowly$`, func(v string) error {
		return need(u, func(u *updateWorld) error { return u.fault(v, updatesrv.Fault{BytesPerSecond: 16 << 10, Times: 1}) })
	})
	sc.Step(`^the operator deploys signed update "([^"]*)" with release counter (\d+)$`, func(v string, n int) error {
		return need(u, func(u *updateWorld) error { return u.deploy(v, uint64(n)) })
	})
	sc.Step(`^the device has installed signed update "([^"]*)" with release counter (\d+)$`, func(ctx context.Context, v string, n int) error {
		return need(u, func(u *updateWorld) error { return u.installed(ctx, v, uint64(n)) })
	})
	sc.Step(`^within (\d+) seconds? the update is staged in the inactive slot, waiting because "([^"]*)"$`, func(ctx context.Context, s int, why string) error {
		return need(u, func(u *updateWorld) error { return u.staged(ctx, seconds(s), why) })
	})
	sc.Step(`^for (\d+) seconds? the device keeps running "([^"]*)", waiting because "([^"]*)"$`, func(ctx context.Context, s int, v, why string) error {
		return need(u, func(u *updateWorld) error { return u.keepsRunning(ctx, seconds(s), v, why) })
	})
	sc.Step(`^within (\d+) seconds? the device runs "([^"]*)" and reports the update installed$`, func(ctx context.Context, s int, v string) error {
		return need(u, func(u *updateWorld) error { return u.runsInstalled(ctx, seconds(s), v) })
	})
	sc.Step(`^no activation happened during a case, in the quiet period or outside the window$`, given((*updateWorld).activationsSafe))
	sc.Step(`^within (\d+) seconds? the deployment fails with reason "([^"]*)"$`, func(ctx context.Context, s int, reason string) error {
		return need(u, func(u *updateWorld) error { return u.fails(ctx, seconds(s), reason, update.StateFailed) })
	})
	sc.Step(`^the device still runs "([^"]*)" and nothing new is in its inactive slot$`, func(v string) error {
		return need(u, func(u *updateWorld) error { return u.untouched(v) })
	})
	sc.Step(`^the device still runs "([^"]*)"$`, func(v string) error { return need(u, func(u *updateWorld) error { return u.runs(v) }) })
	sc.Step(`^the download is under way$`, func(ctx context.Context) error {
		return need(u, func(u *updateWorld) error { return u.downloading(ctx) })
	})
	sc.Step(`^within (\d+) seconds? the download stops and nothing more is downloaded for (\d+) seconds?$`, func(ctx context.Context, s, quiet int) error {
		return need(u, func(u *updateWorld) error { return u.downloadStops(ctx, seconds(s), seconds(quiet)) })
	})
	sc.Step(`^the download resumed where it stopped$`, given((*updateWorld).resumed))
	sc.Step(`^the new software's health check (passes|fails)$`, func(how string) error {
		return need(u, func(u *updateWorld) error { u.failHealth(how == "fails"); return nil })
	})
	sc.Step(`^within (\d+) seconds? the device runs "([^"]*)" again and reports the update rolled back with reason "([^"]*)"$`, func(ctx context.Context, s int, v, reason string) error {
		return need(u, func(u *updateWorld) error { return u.rolledBack(ctx, seconds(s), v, reason) })
	})
	sc.Step(`^the power will fail at "([^"]*)"$`, func(at string) error {
		return need(u, func(u *updateWorld) error { u.powerFailsAt(carto.PowerLoss(at)); return nil })
	})
	sc.Step(`^the power fails and the device reboots$`, func(ctx context.Context) error {
		return need(u, func(u *updateWorld) error { return u.reboot(ctx) })
	})
	sc.Step(`^within (\d+) seconds? the device runs "([^"]*)" with its update (committed|rolled back)$`, func(ctx context.Context, s int, v, end string) error {
		return need(u, func(u *updateWorld) error { return u.endsConsistent(ctx, seconds(s), v, end) })
	})
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		if u == nil {
			return ctx, nil
		}
		return ctx, u.close()
	})
}

func need(u *updateWorld, f func(*updateWorld) error) error {
	if u == nil {
		return errors.New("no virtual CARTO device with A/B slots in this scenario")
	}
	return f(u)
}

func (u *updateWorld) quietPasses() error {
	u.advance(guard.DefaultQuietPeriod + time.Minute)
	return nil
}

func (u *updateWorld) outsideWindow() error {
	if u.window.Contains(u.clk.Now()) {
		return fmt.Errorf("the window is open at %s", u.clk.Now().Format(time.TimeOnly))
	}
	return nil
}

func (u *updateWorld) windowOpens() error {
	if !u.window.Contains(u.clk.Now()) {
		u.advance(u.window.NextOpen(u.clk.Now()).Sub(u.clk.Now()))
	}
	return nil
}

func (u *updateWorld) caseStarts() error {
	u.dev.StartCase()
	u.gate.Observe(u.dev.CaseState())
	return nil
}

func (u *updateWorld) caseEnds() error {
	u.dev.EndCase()
	u.gate.Observe(u.dev.CaseState())
	u.caseEnd = u.clk.Now()
	return nil
}

func (u *updateWorld) fault(version string, f updatesrv.Fault) error {
	u.srv.Publish(imageName(version), []byte(strings.Repeat(version, 8<<10)))
	u.srv.SetFault(imageName(version), f)
	return nil
}

func (u *updateWorld) failHealth(fail bool) {
	if fail {
		u.slots.FailHealthCheck(errors.New("mapping service did not start"))
	}
}

func (u *updateWorld) powerFailsAt(at carto.PowerLoss) { u.slots.PowerLossAt(at, u.powerCut) }

// phase waits until the manager's record is at phase p.
func (u *updateWorld) phase(ctx context.Context, d time.Duration, p update.Phase) error {
	return within(ctx, d, func() error {
		if rec := u.mgr.Record(); rec.Phase != p {
			return fmt.Errorf("update %s is %s (result %+v)", rec.Workflow.ID, rec.Phase, rec.Result)
		}
		return nil
	})
}

func (u *updateWorld) installed(ctx context.Context, version string, counter uint64) error {
	if err := u.deploy(version, counter); err != nil {
		return err
	}
	return u.runsInstalled(ctx, 10*time.Second, version)
}

func (u *updateWorld) staged(ctx context.Context, d time.Duration, why string) error {
	if err := u.phase(ctx, d, update.PhaseAwaitingActivation); err != nil {
		return err
	}
	return within(ctx, d, func() error { return u.waitingBecause(why) })
}

// waitingBecause checks the reported deferral.
func (u *updateWorld) waitingBecause(why string) error {
	d, _ := u.lastReport()["deferral"].(map[string]any)
	if d == nil || d["reason"] != why {
		return fmt.Errorf("reported deferral %v, want reason %q", d, why)
	}
	return nil
}

// runs checks the active slot's version.
func (u *updateWorld) runs(version string) error {
	if got := u.dev.Metrics()["softwareVersion"]; got != version {
		return fmt.Errorf("the device runs %v, want %s", got, version)
	}
	return nil
}

func (u *updateWorld) keepsRunning(ctx context.Context, d time.Duration, version, why string) error {
	if err := within(ctx, 5*time.Second, func() error { return u.waitingBecause(why) }); err != nil {
		return err
	}
	return throughout(ctx, d, func() error {
		if err := u.runs(version); err != nil {
			return err
		}
		return u.waitingBecause(why)
	})
}

func (u *updateWorld) runsInstalled(ctx context.Context, d time.Duration, version string) error {
	return within(ctx, d, func() error {
		if err := u.runs(version); err != nil {
			return err
		}
		agent, _ := u.lastReport()["agent"].(map[string]any)
		res, _ := agent["lastInstallResult"].(map[string]any)
		id, _ := agent["installedUpdateId"].(string)
		if agent["state"] != float64(update.StateIdle) || res["resultCode"] != float64(update.ResultApplySuccess) ||
			!strings.Contains(id, `"version":"`+version+`"`) {
			return fmt.Errorf("reported agent %v", agent)
		}
		return nil
	})
}
