package features

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent"
	agenthub "github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// lifecycleWorld runs one real agent with a DPS identity on a clock the
// scenario moves.
type lifecycleWorld struct {
	w     *world
	lab   *testpki.LabPKI
	agent *agent.Agent
	skew  atomic.Int64 // added to the wall clock for the agent
	id    string
	stop  func()
}

func (w *world) registerLifecycleSteps(sc *godog.ScenarioContext) {
	lw := &lifecycleWorld{w: w}
	sc.Step(`^a provisioning service issuing operational certificates valid for (\d+) minutes$`, lw.startShortLived)
	sc.Step(`^a device agent "([^"]*)" with only a bootstrap certificate has provisioned and connected$`, lw.runAgent)
	sc.Step(`^the device's clock passes (\d+) percent of its certificate's lifetime while no case is live$`, lw.passLifetime)
	sc.Step(`^the hub forgets the device$`, lw.forget)
	sc.Step(`^within (\d+) seconds the agent has provisioned (\d+) times$`, lw.provisionedTimes)
	sc.Step(`^the agent keeps delivering telemetry$`, lw.keepsDelivering)
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		if lw.stop != nil {
			lw.stop()
		}
		return ctx, nil
	})
}

func (lw *lifecycleWorld) now() time.Time { return time.Now().Add(time.Duration(lw.skew.Load())) }

func (lw *lifecycleWorld) startShortLived(minutes int) error {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		return err
	}
	lw.lab = lab
	h, err := hubsim.New(hubsim.Config{Logger: lw.w.log.With("subsystem", "hub"), DPS: &hubsim.DPSConfig{PKI: lab,
		Options: dps.Config{Issuance: dps.IssuancePolicy{Validity: time.Duration(minutes) * time.Minute}}}})
	if err != nil {
		return err
	}
	lw.w.hub = h // the world closes it
	return h.Start()
}

func (lw *lifecycleWorld) runAgent(ctx context.Context, id string) error {
	boot, err := lw.lab.IssueBootstrap(id, "")
	if err != nil {
		return err
	}
	cert, h := boot.TLS(), lw.w.hub
	dir, err := os.MkdirTemp("", "cloudpillar-identity-")
	if err != nil {
		return err
	}
	lw.id = id
	cfg := agent.Config{
		Hub: agenthub.Config{Address: h.MQTTAddr(), RootCAs: h.CA().Pool(), KeepAlive: keepAlive, PingTimeout: time.Second, ConnectTimeout: 5 * time.Second},
		Identity: &agent.IdentityConfig{Dir: dir, Renewal: identity.Renewal{UrgentMargin: time.Minute},
			Provision: provision.Config{IDScope: h.IDScope(), RegistrationID: id, Address: h.DPSAddr(), ServerName: h.HostName(),
				RootCAs: h.CA().Pool(), Certificate: &cert, Timeout: provisionTimeout}},
		TelemetryInterval: 200 * time.Millisecond,
		AuthRetryFloor:    200 * time.Millisecond, // the floor itself is unit-tested; here it would only slow the scenario
		Now:               lw.now,
		Logger:            lw.w.log.With("subsystem", "agent"),
	}
	cfg.Guard.QuietPeriod, cfg.Guard.Lease = time.Minute, 2*time.Minute
	a, err := agent.New(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	lw.agent = a
	actx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(actx) })
	lw.stop = func() { cancel(); wg.Wait(); a.Close(); os.RemoveAll(dir); lw.stop = nil }
	return within(ctx, 2*connectWithin, func() error {
		if st := a.Stats(); !st.Connected || st.Provisioned != 1 {
			return fmt.Errorf("connected %v, provisioned %d", st.Connected, st.Provisioned)
		}
		return nil
	})
}

// passLifetime moves the agent's clock: first in small steps until the
// guard has seen a full quiet period of idle (renewal forces a reconnect,
// which the guard holds until then), then past pct of the certificate's
// life, still inside it.
func (lw *lifecycleWorld) passLifetime(ctx context.Context, pct int) error {
	err := within(ctx, 30*time.Second, func() error {
		lw.skew.Add(int64(time.Second))
		if st := lw.agent.Gate().Status(); st.State != "idle" {
			return fmt.Errorf("guard %s", st.State)
		}
		return nil
	})
	if err != nil {
		return err
	}
	lw.skew.Add(int64(time.Duration(pct) * 10 * time.Minute / 100))
	return nil
}

func (lw *lifecycleWorld) forget() error { return lw.w.hub.DeleteDevice(lw.id) }

func (lw *lifecycleWorld) provisionedTimes(ctx context.Context, secs, n int) error {
	return within(ctx, seconds(secs), func() error {
		if st := lw.agent.Stats(); st.Provisioned < int64(n) || !st.Connected {
			return fmt.Errorf("provisioned %d times, connected %v", st.Provisioned, st.Connected)
		}
		return nil
	})
}

func (lw *lifecycleWorld) keepsDelivering(ctx context.Context) error {
	before := lw.agent.Stats().Delivered
	return within(ctx, connectWithin, func() error {
		if d := lw.agent.Stats().Delivered; d < before+3 {
			return fmt.Errorf("delivered %d more messages", d-before)
		}
		return nil
	})
}
