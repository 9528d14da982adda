package features

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// The patch-safety scenarios drive the agent's update manager directly
// with a virtual CARTO device (the agent does not run it yet): the same
// wiring the agent will use, a real update server on loopback, a real
// store file, and the guard on a scenario clock so a clinical day passes
// in a second.

// updateLine and updateDevice are what the signed manifests are for.
var (
	updateLine   = "carto3-v7"
	updateDevice = update.Compatibility(carto.UpdateDevice)
	// updateStart is the scenario clock at the start: 10:00 UTC, outside
	// the nightly window.
	updateStart = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
)

// casePoll is how often the scenario's agent polls the device's case
// state, as the agent does (at least once a second).
const casePoll = 100 * time.Millisecond

// activation is what the device looked like when the manager activated.
type activation struct {
	at   time.Time
	live bool
}

// spySlots records every activation of the slots.
type spySlots struct {
	*carto.Slots
	u *updateWorld
}

func (s spySlots) Activate(ctx context.Context) error {
	s.u.mu.Lock()
	s.u.activations = append(s.u.activations, activation{at: s.u.clk.Now(), live: s.u.dev.CaseState() != device.CaseIdle})
	s.u.mu.Unlock()
	return s.Slots.Activate(ctx)
}

// updateWorld is one scenario's device, update server and manager.
type updateWorld struct {
	log      *slog.Logger
	dir      string
	srv      *updatesrv.Server
	signer   *updatetest.SigningKey
	verifier *update.Verifier
	clk      *testclock.Clock
	window   guard.Window
	dev      *carto.Device
	seq      int       // workflow ids
	caseEnd  time.Time // scenario time the last case ended

	// per boot
	slots   *carto.Slots
	gate    *guard.Gate
	mgr     *update.Manager
	off     atomic.Bool // power cut: nothing more is saved
	lost    chan struct{}
	stop    context.CancelFunc
	running sync.WaitGroup
	release func()

	mu          sync.Mutex
	activations []activation     // guarded by mu
	reported    []map[string]any // guarded by mu: deviceUpdate of each report
}

// newUpdateWorld makes the trust setup, the server and the device; boot
// starts the agent side.
func newUpdateWorld(log *slog.Logger) (*updateWorld, error) {
	root, err := updatetest.NewKey("root-1")
	if err != nil {
		return nil, err
	}
	roots, err := updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.Roots()
	if err != nil {
		return nil, err
	}
	signer, err := updatetest.NewSigningKey("signing-1", root)
	if err != nil {
		return nil, err
	}
	v, err := update.NewVerifier(update.Config{Roots: roots, Device: carto.UpdateDevice})
	if err != nil {
		return nil, err
	}
	win, err := guard.ParseWindow("0 2 * * *", 4*time.Hour, "UTC")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cloudpillar-updates-")
	if err != nil {
		return nil, err
	}
	return &updateWorld{log: log, dir: dir, srv: updatesrv.New(), signer: signer,
		verifier: v, clk: testclock.New(updateStart), window: win, dev: carto.New(1)}, nil
}

// boot starts the agent side as after power-on: slots and store read from
// disk, a fresh guard (which holds work for the quiet period), the
// manager, and the case-state poll.
func (u *updateWorld) boot() error {
	slots, err := carto.OpenSlots(filepath.Join(u.dir, "slots"), carto.Version)
	if err != nil {
		return err
	}
	st, db, err := outbox.OpenFile(filepath.Join(u.dir, "agent.db"), "agent", outbox.Limits{}, u.log)
	if err != nil {
		return err
	}
	u.release = func() { st.Close(); db.Close() }
	u.slots, u.lost = slots, make(chan struct{})
	u.off.Store(false)
	u.dev.UseSlots(slots)
	u.gate = guard.NewGate(guard.New(guard.Config{Lease: guard.MaxLease, Windows: []guard.Window{u.window}}),
		u.clk.Now, testclock.NeverFires)
	u.gate.Observe(u.dev.CaseState())
	recs := &cutRecords{RecordStore: update.NewRecordStore(st), off: &u.off}
	u.mgr, err = update.NewManager(update.ManagerConfig{
		Verifier: u.verifier, Installer: spySlots{slots, u}, Gate: u.gate, State: recs, Progress: recs,
		Dir: filepath.Join(u.dir, "work"), Client: u.srv.Client(), Report: u.report, Now: u.clk.Now,
		Download: update.DownloadConfig{CheckpointBytes: 4 << 10, RetryBase: 20 * time.Millisecond},
		Device:   update.DeviceProperties{Manufacturer: updateDevice.Manufacturer, Model: updateDevice.Model, HardwareID: updateDevice.HardwareID},
		Logger:   u.log,
	})
	if err != nil {
		u.release()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.stop = cancel
	u.running.Go(func() {
		if err := u.mgr.Run(ctx); err != nil {
			u.log.Warn("update manager stopped", "err", err)
		}
	})
	u.running.Go(func() { u.pollCases(ctx) })
	return nil
}

// pollCases observes the device's case state every casePoll, as the
// agent's guard runner does.
func (u *updateWorld) pollCases(ctx context.Context) {
	t := time.NewTicker(casePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			u.gate.Observe(u.dev.CaseState())
		}
	}
}

// halt stops the agent side and closes the store.
func (u *updateWorld) halt() {
	if u.stop == nil {
		return
	}
	u.stop()
	u.running.Wait()
	u.release()
	u.stop = nil
}

// close ends the scenario.
func (u *updateWorld) close() error {
	u.halt()
	u.srv.Close()
	return os.RemoveAll(u.dir)
}

// powerCut is the simulated power failure: nothing more is saved and the
// agent stops.
func (u *updateWorld) powerCut() {
	u.off.Store(true)
	u.stop()
	close(u.lost)
}

func (u *updateWorld) report(patch map[string]any) {
	comp, _ := patch[update.ComponentName].(map[string]any)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reported = append(u.reported, comp)
}

// lastReport is the latest reported deviceUpdate component.
func (u *updateWorld) lastReport() map[string]any {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reported) == 0 {
		return map[string]any{}
	}
	return u.reported[len(u.reported)-1]
}

// advance moves the scenario clock a minute at a time, observing the case
// state after each minute as the agent's poll would.
func (u *updateWorld) advance(d time.Duration) {
	for step := time.Minute; d > 0; d -= step {
		u.clk.Advance(min(step, d))
		u.gate.Observe(u.dev.CaseState())
	}
}

// deploy publishes version and hands its signed deployment to the manager
// in the shape the agent decodes from the twin.
func (u *updateWorld) deploy(version string, counter uint64) error {
	entry := u.srv.Publish(imageName(version), bytes.Repeat([]byte(version), 8<<10))
	m := updatetest.Manifest(updateDevice, updateLine, counter, u.clk.Now().Add(90*24*time.Hour), entry)
	m.UpdateID.Version = version
	u.seq++
	su, err := u.srv.Deploy(m, u.signer, fmt.Sprintf("wf-%d", u.seq))
	if err != nil {
		return err
	}
	raw, err := json.Marshal(map[string]any{"__t": "c", "service": su})
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var comp map[string]any
	if err := dec.Decode(&comp); err != nil {
		return err
	}
	u.mgr.HandleDesired(comp)
	return nil
}

func imageName(version string) string { return "carto-" + version + ".img" }

// cutRecords stops saving once the power is cut.
type cutRecords struct {
	*update.RecordStore
	off *atomic.Bool
}

var errPowerCut = errors.New("power cut")

func (c *cutRecords) SaveState(rec update.Record) error {
	if c.off.Load() {
		return errPowerCut
	}
	return c.RecordStore.SaveState(rec)
}

func (c *cutRecords) SaveProgress(f string, p update.ProgressRecord) error {
	if c.off.Load() {
		return errPowerCut
	}
	return c.RecordStore.SaveProgress(f, p)
}
