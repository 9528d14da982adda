package update_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	cartodev "github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// errPowerCut is what the store answers once the simulated power failed.
var errPowerCut = errors.New("power cut: nothing more reaches the disk")

// cutStore is the agent's update records; after cut nothing more is
// written, as when the power fails.
type cutStore struct {
	*update.RecordStore
	off atomic.Bool
}

func (c *cutStore) SaveState(rec update.Record) error {
	if c.off.Load() {
		return errPowerCut
	}
	return c.RecordStore.SaveState(rec)
}

func (c *cutStore) SaveProgress(f string, p update.ProgressRecord) error {
	if c.off.Load() {
		return errPowerCut
	}
	return c.RecordStore.SaveProgress(f, p)
}

// reportLog keeps the reported patches a Manager sent.
type reportLog struct {
	mu  sync.Mutex
	all []map[string]any
}

func (l *reportLog) add(p map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, p)
}

// agent returns deviceUpdate.agent of the latest report.
func (l *reportLog) last() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return nil
	}
	return l.all[len(l.all)-1]["deviceUpdate"].(map[string]any)
}

// mgrRig is a device with carto slots and an update manager, an update
// server and the trust setup; boot and halt simulate the device's life.
type mgrRig struct {
	t       *testing.T
	fix     *fixture
	srv     *updatesrv.Server
	clk     *testclock.Clock
	windows []guard.Window
	path    string // the agent's store file
	slotDir string
	workDir string
	reports *reportLog
	audits  *auditRec             // every audit entry of every boot
	dl      update.DownloadConfig // download tuning for every boot

	// per boot
	gate       *guard.Gate
	slots      *cartodev.Slots
	store      *cutStore
	mgr        *update.Manager
	cancel     context.CancelFunc
	done       chan error
	closeStore func()
}

func newMgrRig(t *testing.T, windows ...guard.Window) *mgrRig {
	t.Helper()
	leakcheck.Check(t, 5*time.Second)
	srv := updatesrv.New()
	t.Cleanup(srv.Close)
	if windows == nil {
		windows = []guard.Window{guard.AlwaysOpen()}
	}
	dir := t.TempDir()
	r := &mgrRig{
		t: t, fix: newFixture(t), srv: srv, clk: testclock.New(now), windows: windows,
		path: filepath.Join(dir, "agent.db"), slotDir: filepath.Join(dir, "slots"), workDir: filepath.Join(dir, "work"),
		reports: &reportLog{}, audits: &auditRec{},
		dl: update.DownloadConfig{CheckpointBytes: 8 << 10, RetryBase: 10 * time.Millisecond},
	}
	t.Cleanup(func() { r.halt() })
	return r
}

// boot starts the device: slots from disk, the store file, a fresh guard
// (which must sit out the quiet period) and the manager. arm may set
// faults on the slots before the manager runs.
func (r *mgrRig) boot(arm func(*cartodev.Slots)) {
	t := r.t
	t.Helper()
	slots, err := cartodev.OpenSlots(r.slotDir, cartodev.Version)
	if err != nil {
		t.Fatal(err)
	}
	st, closeStore := openRecords(t, r.path)
	r.slots, r.closeStore = slots, closeStore
	r.store = &cutStore{RecordStore: update.NewRecordStore(st)}
	r.gate = idleGate(r.clk, r.windows...)
	if arm != nil {
		arm(slots)
	}
	r.mgr, err = update.NewManager(update.ManagerConfig{
		Verifier: r.fix.verifier, Installer: slots, Gate: r.gate, State: r.store, Progress: r.store,
		Dir: r.workDir, Client: r.srv.Client(), Report: r.reports.add, Now: r.clk.Now, RetryDelay: 50 * time.Millisecond,
		Download: r.dl, Audit: r.audits,
		Device: update.DeviceProperties{Manufacturer: device.Manufacturer, Model: device.Model, HardwareID: device.HardwareID},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.mgr.Run(ctx) }()
}

// powerCut is the simulated power failure: nothing more is saved and the
// agent stops.
func (r *mgrRig) powerCut() {
	r.store.off.Store(true)
	r.cancel()
}

// halt stops the agent and closes the store file; it returns Run's error.
func (r *mgrRig) halt() error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	var err error
	select {
	case err = <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Fatal("update manager did not stop within 10 s")
	}
	r.closeStore()
	r.cancel = nil
	return err
}

// deploy publishes a one-file update at version with release counter and
// hands the signed deployment to the manager as the twin would.
func (r *mgrRig) deploy(workflow, version string, counter uint64) update.ServiceUpdate {
	r.t.Helper()
	entry := r.srv.Publish("carto-"+version+".img", bytes.Repeat([]byte(version), 4<<10))
	m := updatetest.Manifest(carto, line, counter, now.Add(90*24*time.Hour), entry)
	m.UpdateID.Version = version
	su, err := r.srv.Deploy(m, r.fix.signer, workflow)
	if err != nil {
		r.t.Fatal(err)
	}
	r.desire(su)
	return su
}

// desire passes su to HandleDesired in the shape the agent decodes from
// the twin (numbers as json.Number).
func (r *mgrRig) desire(su update.ServiceUpdate) map[string]any {
	raw, _ := json.Marshal(map[string]any{"__t": "c", "service": su})
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var comp map[string]any
	if err := dec.Decode(&comp); err != nil {
		r.t.Fatal(err)
	}
	return r.mgr.HandleDesired(comp)
}

// waitPhase waits until the manager's record is in phase p.
func (r *mgrRig) waitPhase(p update.Phase, d time.Duration) update.Record {
	r.t.Helper()
	var rec update.Record
	eventually(r.t, d, "phase "+string(p), func() error {
		if rec = r.mgr.Record(); rec.Phase != p {
			return fmt.Errorf("phase %s (result %+v)", rec.Phase, rec.Result)
		}
		return nil
	})
	return rec
}

// waitReported waits until the latest report's agent.state is state and
// returns deviceUpdate.agent.
func (r *mgrRig) waitReported(state int) map[string]any {
	r.t.Helper()
	var agent map[string]any
	eventually(r.t, settle, fmt.Sprintf("agent.state %d reported", state), func() error {
		agent, _ = r.reports.last()["agent"].(map[string]any)
		if agent["state"] != float64(state) {
			return fmt.Errorf("agent %v", agent)
		}
		return nil
	})
	return agent
}

// checkConsistent fails unless the device runs exactly what the record
// says is installed, committed (never a slot left on trial at rest).
func (r *mgrRig) checkConsistent(rec update.Record) {
	r.t.Helper()
	active, trial, versions := r.slots.Status()
	want := cartodev.Version
	if id := rec.Installed.UpdateID; id != nil {
		want = id.Version
	}
	if trial || versions[active] != want {
		r.t.Fatalf("slots: active %s on trial %v versions %v; record %s says %s is installed", active, trial, versions, rec.Phase, want)
	}
}
