package features

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// Patient-first settings: the guard's floor (1 minute quiet, the longest
// lease, so the scenario clock may jump up to 2 minutes without the case
// state going stale) and a nightly window. The scenario clock starts at
// 01:57:30 UTC: past the quiet period it is 01:58:40, and opening the
// window moves it to 02:00:20.
var (
	pfStart      = time.Date(2026, 6, 1, 1, 57, 30, 0, time.UTC)
	pfQuiet      = guard.MinQuietPeriod
	pfPastQuiet  = pfQuiet + 10*time.Second
	pfOpenWindow = 100 * time.Second
)

const pfDevice = "carto-pf-1"

// patientWorld is the state of one patient-first scenario: a real agent
// connected to the world's hub, on a virtual CARTO with A/B slots, whose
// update work is journaled, and the update server and keys the operator
// deploys with. Times in it are real unless named for the clock.
type patientWorld struct {
	w      *world
	dir    string
	clk    *testclock.Clock
	dev    *carto.Device
	polled atomic.Int64 // the agent's case-state polls (polledCARTO)
	slots  *carto.Slots
	work   *carto.Journal
	agent  *agent.Agent
	srv    *updatesrv.Server
	signer *updatetest.SigningKey
	cancel context.CancelFunc
	wg     sync.WaitGroup

	caseAt, caseEndAt time.Time // the last case's start and end
	quietAt           time.Time // when a step last moved the clock past the quiet period
}

// start builds and runs the agent, waits until it is connected and has
// observed the CARTO idle, then moves the clock past the quiet period.
func (p *patientWorld) start(ctx context.Context) error {
	if err := p.w.startHub(); err != nil {
		return err
	}
	if err := p.build(); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Go(func() { _ = p.agent.Run(rctx) })
	err := within(ctx, connectWithin, func() error {
		if !p.agent.Stats().Connected {
			return errors.New("agent not connected")
		}
		if st := p.agent.Gate().Status(); st.State != guard.StateQuiet {
			return fmt.Errorf("guard state %q, want %q", st.State, guard.StateQuiet)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.advance(ctx, pfPastQuiet)
}

// polledCARTO counts the agent's case-state polls, so a step can wait until
// the guard has seen what the step changed.
type polledCARTO struct {
	*carto.Device
	polls *atomic.Int64
}

func (c polledCARTO) CaseState() device.CaseState {
	c.polls.Add(1)
	return c.Device.CaseState()
}

// observed waits until the agent has polled the case state twice since the
// call, so its guard has seen the state and the clock as they are now.
func (p *patientWorld) observed(ctx context.Context) error {
	from := p.polled.Load()
	return within(ctx, 5*time.Second, func() error {
		if n := p.polled.Load() - from; n < 2 {
			return fmt.Errorf("the agent polled the case state %d times, want 2", n)
		}
		return nil
	})
}

// advance moves the scenario clock and waits for the guard to observe it
// (jumps must stay within the lease).
func (p *patientWorld) advance(ctx context.Context, d time.Duration) error {
	p.clk.Advance(d)
	return p.observed(ctx)
}

func (p *patientWorld) build() error {
	h := p.w.hub
	if err := h.CreateDevice(pfDevice); err != nil {
		return err
	}
	cert, err := h.CA().IssueDeviceTLS(pfDevice)
	if err != nil {
		return err
	}
	if p.dir, err = os.MkdirTemp("", "cloudpillar-pf-"); err != nil {
		return err
	}
	root, err := updatetest.NewKey("pf-root")
	if err != nil {
		return err
	}
	roots, err := updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.Roots()
	if err != nil {
		return err
	}
	if p.signer, err = updatetest.NewSigningKey("pf-signing", root); err != nil {
		return err
	}
	if p.slots, err = carto.OpenSlots(filepath.Join(p.dir, "slots"), carto.Version); err != nil {
		return err
	}
	window, err := guard.ParseWindow("0 2 * * *", 4*time.Hour, "UTC")
	if err != nil {
		return err
	}
	p.clk = testclock.New(pfStart)
	p.dev = carto.New(1)
	p.dev.UseSlots(p.slots)
	p.work = carto.NewJournal(nil)
	p.srv = updatesrv.New()
	p.agent, err = agent.New(agent.Config{
		Hub:               hubtest.SessionConfig(h, pfDevice, cert),
		Device:            polledCARTO{p.dev, &p.polled},
		TelemetryInterval: time.Second,
		Guard:             guard.Config{QuietPeriod: pfQuiet, Lease: guard.MaxLease, Windows: []guard.Window{window}},
		Updates: &agent.UpdatesConfig{
			Roots: roots, Device: carto.UpdateDevice, Installer: p.work.Installer(p.slots),
			Dir:    filepath.Join(p.dir, "downloads"),
			Client: &http.Client{Transport: p.work.Transport(&http.Transport{DisableKeepAlives: true})},
		},
		StorePath: filepath.Join(p.dir, "agent.db"),
		Backoff:   backoff.Policy{Base: 100 * time.Millisecond, Cap: time.Second},
		Now:       p.clk.Now,
		Logger:    p.w.log.With("device", pfDevice),
	})
	return err
}

// close stops the agent and the update server and removes the files.
func (p *patientWorld) close() error {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
	}
	var errs []error
	if p.agent != nil {
		errs = append(errs, p.agent.Close())
	}
	if p.srv != nil {
		p.srv.Close()
	}
	if p.dir != "" {
		errs = append(errs, os.RemoveAll(p.dir))
	}
	return errors.Join(errs...)
}

// deploy signs update version (release counter 8) and sets it as the
// desired deviceUpdate.service in the CARTO's twin, as the service does.
func (p *patientWorld) deploy(version string) error {
	name := imageName(version)
	entry := p.srv.Publish(name, pfPayload(256<<10))
	m := updatetest.Manifest(update.Compatibility(carto.UpdateDevice), updateLine, 8, p.clk.Now().Add(30*24*time.Hour), entry)
	m.UpdateID.Version = version
	su, err := p.srv.Deploy(m, p.signer, "pf-"+version)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{update.ComponentName: map[string]any{"__t": "c", "service": su}})
	if err != nil {
		return err
	}
	_, err = p.w.hub.UpdateDesired(pfDevice, patch)
	return err
}

func pfPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// reported returns the CARTO's reported deviceUpdate component, decoded
// afresh (numbers as float64).
func (p *patientWorld) reported() (map[string]any, error) {
	tw, err := p.w.hub.Twin(pfDevice)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(tw.Reported.Props[update.ComponentName])
	if err != nil {
		return nil, err
	}
	var du map[string]any
	if err := json.Unmarshal(raw, &du); err != nil || du == nil {
		return nil, fmt.Errorf("no deviceUpdate reported yet (%s)", raw)
	}
	return du, nil
}

// waitsBecause checks the twin's deferral reason.
func (p *patientWorld) waitsBecause(why string) error {
	du, err := p.reported()
	if err != nil {
		return err
	}
	def, _ := du["deferral"].(map[string]any)
	if def["reason"] != why {
		return fmt.Errorf("twin deferral = %v (phase %v), want reason %q", du["deferral"], du["phase"], why)
	}
	return nil
}

// runs checks the CARTO's active software version.
func (p *patientWorld) runs(version string) error {
	if v := p.slots.ActiveVersion(); v != version {
		return fmt.Errorf("the CARTO runs %s, want %s", v, version)
	}
	return nil
}

// installed checks the slots and the twin agree the update is committed.
func (p *patientWorld) installed(version string) error {
	if err := p.runs(version); err != nil {
		return err
	}
	if _, trial, _ := p.slots.Status(); trial {
		return errors.New("the new slot is still on trial")
	}
	du, err := p.reported()
	if err != nil {
		return err
	}
	ag, _ := du["agent"].(map[string]any)
	res, _ := ag["lastInstallResult"].(map[string]any)
	if du["phase"] != string(update.PhaseCommitted) || res["resultCode"] != float64(update.ResultApplySuccess) {
		return fmt.Errorf("twin phase %v, lastInstallResult %v; want committed with 700", du["phase"], res)
	}
	return nil
}
