package features

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent"
	agenthub "github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
)

// powerLossEnv carries the child's settings file path.
const powerLossEnv = "CLOUDPILLAR_POWERLOSS_CHILD"

// powerLossSettings is what the child needs to reach the hub.
type powerLossSettings struct {
	DeviceID, HostName, Address, Dir string
}

// powerLossWorld runs the device agent in a child process it can kill.
type powerLossWorld struct {
	w        *world
	set      powerLossSettings
	accepted int64 // the last count the child reported before the kill
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
		if pw.set.Dir != "" {
			os.RemoveAll(pw.set.Dir)
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
	pw.set = powerLossSettings{DeviceID: id, HostName: h.HostName(), Address: h.MQTTAddr(), Dir: dir}
	files := map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM, "ca.pem": h.CA().CertPEM}
	b, _ := json.Marshal(pw.set)
	files["settings.json"] = b
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// kill runs the child until it reports n accepted messages, then kills it
// with SIGKILL: no chance to flush or close anything.
func (pw *powerLossWorld) kill(ctx context.Context, n int) error {
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerLossChild$")
	cmd.Env = append(os.Environ(), powerLossEnv+"="+filepath.Join(pw.set.Dir, "settings.json"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		v, ok := strings.CutPrefix(sc.Text(), "accepted ")
		if !ok {
			return fmt.Errorf("device process: %s", sc.Text())
		}
		pw.accepted, _ = strconv.ParseInt(v, 10, 64)
		if pw.accepted >= int64(n) {
			return cmd.Process.Kill()
		}
	}
	return fmt.Errorf("device process accepted only %d messages", pw.accepted)
}

func (pw *powerLossWorld) restart() error {
	cfg, err := powerLossAgentConfig(filepath.Join(pw.set.Dir, "settings.json"))
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
	id := pw.set.DeviceID
	return within(ctx, seconds(secs), func() error {
		for seq := int64(1); seq <= pw.accepted; seq++ {
			if pw.w.hub.Events().Seen(id, telemetry.MessageID(id, 1, uint64(seq))) == 0 {
				return fmt.Errorf("message %d of %d accepted before the power loss has not reached the hub", seq, pw.accepted)
			}
		}
		return nil
	})
}

// powerLossAgentConfig builds the agent configuration from a settings
// file written by powerLossWorld.device.
func powerLossAgentConfig(path string) (agent.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return agent.Config{}, err
	}
	var set powerLossSettings
	if err := json.Unmarshal(b, &set); err != nil {
		return agent.Config{}, err
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(set.Dir, "cert.pem"), filepath.Join(set.Dir, "key.pem"))
	if err != nil {
		return agent.Config{}, err
	}
	caPEM, err := os.ReadFile(filepath.Join(set.Dir, "ca.pem"))
	if err != nil {
		return agent.Config{}, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return agent.Config{
		Hub: agenthub.Config{DeviceID: set.DeviceID, HostName: set.HostName, Address: set.Address, RootCAs: roots,
			Certificate: pair, KeepAlive: keepAlive, ConnectTimeout: 5 * time.Second},
		StorePath: filepath.Join(set.Dir, "agent.db"),
	}, nil
}
