package features

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
)

// powerLossWorld runs the device agent in a child process it can kill.
type powerLossWorld struct {
	w        *world
	id       string // the device
	dir      string // its credentials and store (agenttest.WriteChildDevice)
	accepted int64  // the last count the child reported before the kill
	agent    *agent.Agent
	stop     func()
}

func (w *world) registerPowerLossSteps(sc *godog.ScenarioContext) {
	pw := &powerLossWorld{w: w}
	sc.Step(`^a device agent "([^"]*)" streaming telemetry from its durable store in its own process$`, pw.device)
	sc.Step(`^the device loses power after it has accepted (\d+) messages$`, pw.kill)
	sc.Step(`^the device starts again on the same store$`, pw.restart)
	sc.Step(`^within (\d+) seconds every message the device accepted before losing power reached the hub$`, pw.allDelivered)
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		if pw.stop != nil {
			pw.stop()
		}
		if pw.dir != "" {
			os.RemoveAll(pw.dir)
		}
		return ctx, nil
	})
}

// device registers the device and writes its credentials and settings.
func (pw *powerLossWorld) device(id string) error {
	if err := pw.w.startHub(); err != nil {
		return err
	}
	h := pw.w.hub
	if err := h.CreateDevice(id); err != nil {
		return err
	}
	certPEM, keyPEM, err := h.IssueDeviceCert(id)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cloudpillar-powerloss-")
	if err != nil {
		return err
	}
	pw.id, pw.dir = id, dir
	return agenttest.WriteChildDevice(dir, id, h.HostName(), h.MQTTAddr(), certPEM, keyPEM, h.CA().CertPEM)
}

// kill runs the child until it reports n accepted messages, then kills it
// with SIGKILL: no chance to flush or close anything.
func (pw *powerLossWorld) kill(ctx context.Context, n int) error {
	child, err := agenttest.StartChild(pw.dir, "TestPowerLossChild")
	if err != nil {
		return err
	}
	defer child.Kill()
	pw.accepted, err = child.AcceptedUntil(30*time.Second, func(accepted int64) bool { return accepted >= int64(n) })
	if err != nil {
		return fmt.Errorf("device process: %w", err)
	}
	return child.Kill()
}

func (pw *powerLossWorld) restart() error {
	cfg, err := agenttest.ChildConfig(pw.dir)
	if err != nil {
		return err
	}
	cfg.TelemetryInterval = time.Hour // only what was stored before the power loss
	cfg.Logger = pw.w.log.With("subsystem", "agent")
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	pw.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	pw.stop = func() { cancel(); wg.Wait(); a.Close(); pw.stop = nil }
	return nil
}

// allDelivered checks boot 1 (the killed process): every id it reported
// accepted is recorded at the hub.
func (pw *powerLossWorld) allDelivered(ctx context.Context, secs int) error {
	id := pw.id
	return within(ctx, seconds(secs), func() error {
		for seq := int64(1); seq <= pw.accepted; seq++ {
			if pw.w.hub.Events().Seen(id, telemetry.MessageID(id, 1, uint64(seq))) == 0 {
				return fmt.Errorf("message %d of %d accepted before the power loss has not reached the hub", seq, pw.accepted)
			}
		}
		return nil
	})
}
