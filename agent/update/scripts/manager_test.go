package scripts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	agentdevice "github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/scripts"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
)

var (
	mgrNow    = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	mgrDevice = update.Device{Manufacturer: "Biosense Webster", Model: "CARTO 3", HardwareID: "c3-v7-rev2"}
	mgrCompat = update.Compatibility{Manufacturer: mgrDevice.Manufacturer, Model: mgrDevice.Model, HardwareID: mgrDevice.HardwareID}
)

// exampleDir is the example package integrators start from.
const exampleDir = "testdata/example-package"

// TestManagerInstallsTheExamplePackageThroughTheHandler drives one signed
// deployment of the example package through the real update.Manager
// (verify, download, install, guard, activate, health, commit) with a
// Handler as its Installer: installedUpdateId names the update only once
// it is committed, and a restart of both reads the same.
func TestManagerInstallsTheExamplePackageThroughTheHandler(t *testing.T) {
	needSh(t)
	d := newDeployment(t, exampleDir)
	m := d.boot()
	d.deploy(m, "wf-1", 8)
	rec := d.waitAtRest(m)
	if rec.Phase != update.PhaseCommitted || rec.Installed.UpdateID == nil || *rec.Installed.UpdateID != d.id {
		t.Fatalf("record = %s installed %v (result %+v), want %v committed", rec.Phase, rec.Installed.UpdateID, rec.Result, d.id)
	}
	if got := reportedID(m); got != d.id.ADUString() {
		t.Fatalf("reported installedUpdateId = %v, want %s", got, d.id.ADUString())
	}
	if got, _ := os.ReadFile(filepath.Join(d.device, "current")); string(bytes.TrimSpace(got)) != "B" {
		t.Fatalf("the example device runs %q, want B", got)
	}
	d.halt()

	m = d.boot() // a restart: a new Handler and Manager on the same disk
	if got := reportedID(m); got != d.id.ADUString() || d.handler.ActiveSlot() != "B" {
		t.Fatalf("after a restart: installedUpdateId %v, slot %s; want %s on B", got, d.handler.ActiveSlot(), d.id.ADUString())
	}
}

// TestManagerRollsBackTheExamplePackageWhenItsHealthCheckFails: the same
// deployment with a failing health program ends rolled back, the device
// back on its factory slot and installedUpdateId still empty.
func TestManagerRollsBackTheExamplePackageWhenItsHealthCheckFails(t *testing.T) {
	needSh(t)
	pkg := t.TempDir()
	if err := os.CopyFS(pkg, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(pkg, "health.sh"), "echo 'mapping service did not start' >&2\nexit 1\n")
	d := newDeployment(t, pkg)
	m := d.boot()
	d.deploy(m, "wf-1", 8)
	rec := d.waitAtRest(m)
	if rec.Phase != update.PhaseRolledBack || rec.Installed.UpdateID != nil {
		t.Fatalf("record = %s installed %v (result %+v), want rolled back with nothing installed", rec.Phase, rec.Installed.UpdateID, rec.Result)
	}
	if got := reportedID(m); got != nil {
		t.Fatalf("reported installedUpdateId = %v, want none", got)
	}
	if got, _ := os.ReadFile(filepath.Join(d.device, "current")); string(bytes.TrimSpace(got)) != "A" || d.handler.ActiveSlot() != "A" {
		t.Fatalf("the example device runs %q, handler slot %s; want A", got, d.handler.ActiveSlot())
	}
}

// deployment is a device running the Manager with a Handler, a file
// server holding one package, and the trust setup that signs it.
type deployment struct {
	t       *testing.T
	srv     *httptest.Server
	files   []update.FileEntry
	id      update.UpdateID
	signer  *updatetest.SigningKey
	roots   update.Roots
	records *memRecords
	root    string
	device  string
	clk     time.Time

	handler *scripts.Handler
	cancel  context.CancelFunc
	done    chan error
}

func newDeployment(t *testing.T, pkgDir string) *deployment {
	t.Helper()
	root := must(updatetest.NewKey("root-1"))
	roots := must(updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.Roots())
	d := &deployment{
		t: t, srv: httptest.NewServer(http.FileServerFS(os.DirFS(pkgDir))), roots: roots,
		signer: must(updatetest.NewSigningKey("signing-1", root)), records: &memRecords{m: map[string][]byte{}},
		root: t.TempDir(), clk: mgrNow,
	}
	t.Cleanup(d.srv.Close)
	d.device = filepath.Join(d.root, "device")
	if err := os.MkdirAll(d.device, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d.device, "current"), "A\n")
	entries := must(os.ReadDir(pkgDir))
	for _, e := range entries {
		d.files = append(d.files, updatetest.File(e.Name(), must(os.ReadFile(filepath.Join(pkgDir, e.Name())))))
	}
	sort.Slice(d.files, func(i, j int) bool { return d.files[i].Name < d.files[j].Name })
	t.Cleanup(d.halt)
	return d
}

// boot opens the Handler and starts a Manager on it.
func (d *deployment) boot() *update.Manager {
	t := d.t
	t.Helper()
	h, err := scripts.New(scripts.Config{
		Dir: filepath.Join(d.root, "slots"), Env: []string{"EXAMPLE_DEVICE_DIR=" + d.device},
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	v := must(update.NewVerifier(update.Config{Roots: d.roots, Device: mgrDevice}))
	recs := update.NewRecordStore(d.records)
	m, err := update.NewManager(update.ManagerConfig{
		Verifier: v, Installer: h, Gate: idleGate(d.clk), State: recs, Progress: recs,
		Dir: filepath.Join(d.root, "downloads"), Client: d.srv.Client(), Now: func() time.Time { return d.clk },
		Device: update.DeviceProperties{Manufacturer: mgrDevice.Manufacturer, Model: mgrDevice.Model, HardwareID: mgrDevice.HardwareID},
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.handler, d.cancel, d.done = h, cancel, make(chan error, 1)
	go func() { d.done <- m.Run(ctx) }()
	return m
}

// halt stops the Manager and waits for it.
func (d *deployment) halt() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("Manager.Run: %v", err)
		}
	case <-time.After(settle):
		d.t.Fatal("the Manager did not stop")
	}
}

// deploy signs a manifest of the package's files and hands it to m as
// the twin's desired deviceUpdate component would.
func (d *deployment) deploy(m *update.Manager, workflow string, counter uint64) {
	t := d.t
	t.Helper()
	man := updatetest.Manifest(mgrCompat, "carto3-v7", counter, mgrNow.Add(90*24*time.Hour), d.files...)
	d.id = man.UpdateID
	su := must(updatetest.Deployment(man, d.signer, workflow, d.srv.URL))
	raw := must(json.Marshal(map[string]any{"__t": "c", "service": su}))
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var comp map[string]any
	if err := dec.Decode(&comp); err != nil {
		t.Fatal(err)
	}
	m.HandleDesired(comp)
}

// waitAtRest waits until m's workflow has ended.
func (d *deployment) waitAtRest(m *update.Manager) update.Record {
	d.t.Helper()
	var rec update.Record
	eventually(d.t, settle, "workflow at rest", func() error {
		if rec = m.Record(); !rec.Phase.AtRest() || rec.Phase == update.PhaseIdle {
			return fmt.Errorf("phase %s", rec.Phase)
		}
		return nil
	})
	return rec
}

// reportedID is deviceUpdate.agent.installedUpdateId as m reports it.
func reportedID(m *update.Manager) any {
	agent, _ := m.Reported()[update.ComponentName].(map[string]any)["agent"].(map[string]any)
	return agent["installedUpdateId"]
}

// idleGate is a guard that has seen the device idle past its quiet period
// on a clock that stands still at now.
func idleGate(now time.Time) *guard.Gate {
	clk := now.Add(-guard.DefaultQuietPeriod - time.Minute)
	g := guard.NewGate(guard.New(guard.Config{Lease: guard.MaxLease, Windows: []guard.Window{guard.AlwaysOpen()}}),
		func() time.Time { return clk }, func(time.Duration) <-chan time.Time { return nil })
	for !clk.After(now) {
		g.Observe(agentdevice.CaseIdle)
		clk = clk.Add(time.Minute)
	}
	clk = now
	g.Observe(agentdevice.CaseIdle)
	return g
}

// memRecords is an in-memory update.Records.
type memRecords struct {
	mu sync.Mutex
	m  map[string][]byte // guarded by mu
}

func (s *memRecords) PutUpload(id string, rec []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = bytes.Clone(rec)
	return nil
}

func (s *memRecords) GetUpload(id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.m[id]
	return bytes.Clone(rec), ok, nil
}

func (s *memRecords) DeleteUpload(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// must unwraps a setup result; setup failures (key generation, signing,
// reading testdata) are not what these tests test, so they panic, which
// fails the test with a stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// blockable prefixes a step program of the example package so it logs its
// runs and waits while block-<step> exists in the device directory.
func blockable(t testing.TB, pkgDir, step string) {
	t.Helper()
	path := filepath.Join(pkgDir, step+".sh")
	body := must(os.ReadFile(path))
	head := fmt.Sprintf(`dev=$EXAMPLE_DEVICE_DIR
echo %[1]s >> "$dev/log"
if [ -e "$dev/block-%[1]s" ]; then
	echo $$ > "$dev/blocked-%[1]s"
	while [ -e "$dev/block-%[1]s" ]; do sleep 0.02; done
fi
`, step)
	writeFile(t, path, head+string(body))
}

// TestManagerRecoversAnInterruptedActivation cuts the power while the
// Handler activates, reboots the Manager and the Handler from the disk
// and records as they were, and checks that update.Record.Recover, asking
// the Handler's ActiveSlot, resumes correctly: activate again when the
// activation had not finished, straight to the health check when it had
// but the Manager had not yet saved it. Either way the update is
// committed once (DESIGN.md decision 7).
func TestManagerRecoversAnInterruptedActivation(t *testing.T) {
	needSh(t)
	tests := []struct {
		name       string
		diskAt     string // the step blocked when the disk is copied
		activates  int    // activate runs over both lives
		healthRuns int
	}{
		{"during activate", "activate", 2, 1},
		{"after activate, before the Manager saved it", "health", 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkg := t.TempDir()
			if err := os.CopyFS(pkg, os.DirFS(exampleDir)); err != nil {
				t.Fatal(err)
			}
			blockable(t, pkg, "activate")
			blockable(t, pkg, "health")
			d := newDeployment(t, pkg)
			d.block("activate", "health")
			m := d.boot()
			d.deploy(m, "wf-1", 8)
			d.waitBlocked("activate")
			recs := d.records.clone() // the Manager saved phase activating
			disk := ""
			if tc.diskAt == "activate" {
				disk = d.copyDisk()
			}
			d.unblock("activate")
			d.waitBlocked("health")
			if disk == "" {
				disk = d.copyDisk()
			}
			d.unblock("health")
			d.waitAtRest(m)
			d.halt()

			lost := d.rebootFrom(disk, recs)
			lost.unblock("activate", "health")
			m = lost.boot()
			rec := lost.waitAtRest(m)
			if rec.Phase != update.PhaseCommitted || rec.Installed.UpdateID == nil || *rec.Installed.UpdateID != d.id {
				t.Fatalf("after the reboot: %s installed %v (result %+v), want %v committed", rec.Phase, rec.Installed.UpdateID, rec.Result, d.id)
			}
			log := string(must(os.ReadFile(filepath.Join(lost.device, "log"))))
			if got := strings.Count(log, "activate\n"); got != tc.activates {
				t.Errorf("activate ran %d times, want %d; log:\n%s", got, tc.activates, log)
			}
			if got := strings.Count(log, "health\n"); got != tc.healthRuns {
				t.Errorf("health ran %d times, want %d; log:\n%s", got, tc.healthRuns, log)
			}
		})
	}
}

func (d *deployment) block(steps ...string) {
	for _, s := range steps {
		writeFile(d.t, filepath.Join(d.device, "block-"+s), "")
	}
}

func (d *deployment) unblock(steps ...string) {
	for _, s := range steps {
		if err := os.Remove(filepath.Join(d.device, "block-"+s)); err != nil && !os.IsNotExist(err) {
			d.t.Fatal(err)
		}
	}
}

func (d *deployment) waitBlocked(step string) {
	d.t.Helper()
	eventually(d.t, settle, step+" blocked", func() error {
		_, err := os.Stat(filepath.Join(d.device, "blocked-"+step))
		return err
	})
}

// copyDisk copies the device's disk (handler slots and state, device
// directory, downloads) as a power loss now would leave it.
func (d *deployment) copyDisk() string {
	d.t.Helper()
	dst := filepath.Join(d.t.TempDir(), "disk")
	if err := os.CopyFS(dst, os.DirFS(d.root)); err != nil {
		d.t.Fatal(err)
	}
	return dst
}

// rebootFrom is the same device booted from a copied disk and records.
func (d *deployment) rebootFrom(disk string, recs *memRecords) *deployment {
	n := &deployment{t: d.t, srv: d.srv, files: d.files, id: d.id, signer: d.signer, roots: d.roots,
		records: recs, root: disk, device: filepath.Join(disk, "device"), clk: d.clk}
	d.t.Cleanup(n.halt)
	return n
}

func (s *memRecords) clone() *memRecords {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &memRecords{m: map[string][]byte{}}
	for k, v := range s.m {
		c.m[k] = bytes.Clone(v)
	}
	return c
}
