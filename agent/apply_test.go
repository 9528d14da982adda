package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// updateRig is a hub, an update server, a trust setup and a device's A/B
// slots for agent-level update tests.
type updateRig struct {
	h      *hubsim.Hub
	srv    *updatesrv.Server
	root   *updatetest.Key
	roots  update.Roots
	signer *updatetest.SigningKey
	compat update.Compatibility
	slots  *carto.Slots
	work   string
}

func newUpdateRig(t *testing.T) *updateRig {
	t.Helper()
	r := &updateRig{h: hubtest.NewHub(t, hubsim.Config{}), srv: updatesrv.New(), work: filepath.Join(t.TempDir(), "work"),
		compat: update.Compatibility{Manufacturer: "Biosense Webster", Model: "CARTO 3", HardwareID: "c3-v7-rev2"}}
	t.Cleanup(r.srv.Close)
	var err error
	if r.root, err = updatetest.NewKey("root-1"); err != nil {
		t.Fatal(err)
	}
	if r.roots, err = (updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{r.root}}).Roots(); err != nil {
		t.Fatal(err)
	}
	if r.signer, err = updatetest.NewSigningKey("signing-1", r.root); err != nil {
		t.Fatal(err)
	}
	if r.slots, err = carto.OpenSlots(filepath.Join(t.TempDir(), "slots"), carto.Version); err != nil {
		t.Fatal(err)
	}
	return r
}

// configure turns updates on in c, with windows always open and a one
// minute quiet period on the test's clock.
func (r *updateRig) configure(c *agent.Config, clock *fakeClock) {
	c.Now = clock.now
	c.Guard = guard.Config{QuietPeriod: time.Minute, Lease: 2 * time.Minute, Windows: []guard.Window{guard.AlwaysOpen()}}
	c.Updates = &agent.UpdatesConfig{
		Roots: r.roots, Installer: r.slots, Dir: r.work, Client: r.srv.Client(),
		Device: update.Device{Manufacturer: r.compat.Manufacturer, Model: r.compat.Model, HardwareID: r.compat.HardwareID},
	}
}

// deploy publishes a one-file update and sets it as the desired
// deployment of device id, signed by sk, naming rootsURL if not empty.
func (r *updateRig) deploy(t *testing.T, id, workflow, version string, counter uint64, sk *updatetest.SigningKey, rootsURL string) {
	t.Helper()
	entry := r.srv.Publish("carto-"+version+".img", []byte("software "+version))
	m := updatetest.Manifest(r.compat, "carto3-v7", counter, time.Now().Add(24*time.Hour), entry)
	m.UpdateID.Version = version
	su, err := r.srv.Deploy(m, sk, workflow)
	if err != nil {
		t.Fatal(err)
	}
	su.RootKeyPackageURL = rootsURL
	patch, _ := json.Marshal(map[string]any{"deviceUpdate": map[string]any{"__t": "c", "service": su}})
	if _, err := r.h.UpdateDesired(id, patch); err != nil {
		t.Fatal(err)
	}
}

// waitResult waits until device id reports deviceUpdate idle or failed
// with the given result code for workflow, and returns lastInstallResult.
func (r *updateRig) waitResult(t *testing.T, id, workflow string, code int) map[string]any {
	t.Helper()
	var du map[string]any
	var res map[string]any
	hubtest.Eventually(t, 30*time.Second, func() bool {
		du = reportedAck(t, r.h, id, "deviceUpdate")
		ag, _ := du["agent"].(map[string]any)
		wf, _ := ag["workflow"].(map[string]any)
		res, _ = ag["lastInstallResult"].(map[string]any)
		return wf["id"] == workflow && res["resultCode"] == float64(code) && (ag["state"] == float64(0) || ag["state"] == float64(255))
	}, "workflow %s never reported result %d (deviceUpdate %v)", workflow, code, du)
	return res
}

// passQuiet advances clock a second at a time until a's guard is idle:
// the case poll sees small steps, so it reads them as continuous idle.
func passQuiet(t *testing.T, a *agent.Agent, clock *fakeClock) {
	t.Helper()
	hubtest.Eventually(t, 30*time.Second, func() bool {
		clock.advance(time.Second)
		return a.Gate().Status().State == guard.StateIdle
	}, "guard never became idle")
}

func invokeWith(t *testing.T, h *hubsim.Hub, id, name, payload string) (int, map[string]any) {
	t.Helper()
	status, body, err := h.InvokeMethod(context.Background(), id, name, []byte(payload), 10*time.Second)
	if err != nil {
		t.Fatalf("invoke %s %s: %v", name, payload, err)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	return status, m
}

// auditLines reads the audit log at path as entries.
func auditLines(t *testing.T, path string) []guard.AuditEntry {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []guard.AuditEntry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var e guard.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// auditHas reports whether entries hold action/decision (and reason, if
// not empty).
func auditHas(entries []guard.AuditEntry, action, decision, reason string) bool {
	for _, e := range entries {
		if e.Action == action && e.Decision == decision && (reason == "" || e.Reason == reason) {
			return true
		}
	}
	return false
}

// waitAudit waits until the audit log at path holds every want
// ("action/decision" or "action/decision/reason").
func waitAudit(t *testing.T, path string, want ...string) []guard.AuditEntry {
	t.Helper()
	var entries []guard.AuditEntry
	var missing []string
	hubtest.Eventually(t, 10*time.Second, func() bool {
		entries, missing = auditLines(t, path), nil
		for _, w := range want {
			p := strings.SplitN(w, "/", 3)
			reason := ""
			if len(p) == 3 {
				reason = p[2]
			}
			if !auditHas(entries, p[0], p[1], reason) {
				missing = append(missing, w)
			}
		}
		return len(missing) == 0
	}, "audit log lacks %v", missing)
	return entries
}

// TestApplyUpdateIsDeferredDuringACaseAndStartsThePendingDeployment: the
// applyUpdate direct method answers "deferred" with the reason while a
// case is live and during the quiet period (with when the deployment will
// run), "mismatch" for another update, and once the guard allows it ends
// the pending deployment's wait before a retry, so the update proceeds at
// once; every answer is audited (issue: disruptive direct methods answer
// "deferred" with the reason and when they will run).
func TestApplyUpdateIsDeferredDuringACaseAndStartsThePendingDeployment(t *testing.T) {
	r := newUpdateRig(t)
	dev := &caseDevice{}
	dev.set(device.CaseLive)
	clock := &fakeClock{}
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	a := startConnected(t, r.h, "dev-1", func(c *agent.Config) {
		r.configure(c, clock)
		c.Device = dev
		c.AuditLogPath = auditPath
		c.Updates.Download.RetryBase = time.Hour // a failed request waits long before its retry
	})
	if status, body := invokeWith(t, r.h, "dev-1", "applyUpdate", `{}`); status != 200 || body["status"] != "nothing-pending" {
		t.Fatalf("applyUpdate with nothing deployed = %d %v, want 200 nothing-pending", status, body)
	}

	r.srv.SetFault("carto-7.3.0.img", updatesrv.Fault{Status: 503, Times: 1})
	r.deploy(t, "dev-1", "wf-1", "7.3.0", 8, r.signer, "")
	hubtest.Eventually(t, 10*time.Second, func() bool {
		d, _ := reportedAck(t, r.h, "dev-1", "deviceUpdate")["deferral"].(map[string]any)
		return d["action"] == "download" && d["reason"] == guard.ReasonLive
	}, "download not reported held by the live case")
	status, body := invokeWith(t, r.h, "dev-1", "applyUpdate", `{}`)
	if status != 202 || body["status"] != "deferred" || body["reason"] != guard.ReasonLive || body["workflowId"] != "wf-1" {
		t.Fatalf("applyUpdate during a case = %d %v, want 202 deferred: patient case live", status, body)
	}
	other := `{"updateId":{"provider":"Cloud Pillar","name":"carto3-v7","version":"9.9.9"}}`
	if status, body := invokeWith(t, r.h, "dev-1", "applyUpdate", other); status != 409 || body["status"] != "mismatch" {
		t.Fatalf("applyUpdate naming another update = %d %v, want 409 mismatch", status, body)
	}
	if status, body := invokeWith(t, r.h, "dev-1", "applyUpdate", `{"force":true}`); status != 400 {
		t.Fatalf("applyUpdate with an unknown field = %d %v, want 400", status, body)
	}

	dev.set(device.CaseIdle)
	hubtest.Eventually(t, 5*time.Second, func() bool { return a.Gate().Status().State == guard.StateQuiet }, "no quiet period")
	status, body = invokeWith(t, r.h, "dev-1", "applyUpdate", `{}`)
	if status != 202 || body["reason"] != guard.ReasonQuiet || body["runsAfter"] == nil || body["retryAt"] == nil {
		t.Fatalf("applyUpdate in the quiet period = %d %v, want 202 with retryAt and runsAfter", status, body)
	}
	if r.slots.ActiveVersion() != carto.Version || len(r.srv.Requests()) != 0 {
		t.Fatal("the deferred update was fetched or activated")
	}

	passQuiet(t, a, clock)
	hubtest.Eventually(t, 10*time.Second, func() bool { return len(r.srv.Requests()) == 1 }, "no first download request")
	named := `{"updateId":{"provider":"Cloud Pillar","name":"carto3-v7","version":"7.3.0"}}`
	status, body = invokeWith(t, r.h, "dev-1", "applyUpdate", named)
	if status != 200 || body["status"] != "started" || body["workflowId"] != "wf-1" || body["phase"] != "downloading" {
		t.Fatalf("applyUpdate when idle = %d %v, want 200 started, downloading", status, body)
	}
	// The retry would wait up to an hour; the method ends that wait. (A
	// call that lands before the wait begins has nothing to end: call
	// again until the update is in.)
	hubtest.Eventually(t, 30*time.Second, func() bool {
		if r.slots.ActiveVersion() == "7.3.0" {
			return true
		}
		invokeWith(t, r.h, "dev-1", "applyUpdate", `{}`)
		time.Sleep(200 * time.Millisecond)
		return false
	}, "the update did not proceed after applyUpdate")
	r.waitResult(t, "dev-1", "wf-1", update.ResultApplySuccess)
	waitAudit(t, auditPath,
		"applyUpdate/nothing-pending",
		"disruptive-method/defer/"+guard.ReasonLive,
		"applyUpdate/defer/"+guard.ReasonLive,
		"applyUpdate/mismatch",
		"applyUpdate/defer/"+guard.ReasonQuiet,
		"applyUpdate/started",
	)
}

// TestUpdateDecisionsAreWrittenToTheAuditLog: a deployment held by a
// live case and then installed leaves its decisions in the audit log
// beside the guard's own: accepted, download paused by the guard and
// resumed, downloaded, staged, activating, activated, committed
// (UPDATES.md §5.8).
func TestUpdateDecisionsAreWrittenToTheAuditLog(t *testing.T) {
	r := newUpdateRig(t)
	dev := &caseDevice{}
	dev.set(device.CaseLive)
	clock := &fakeClock{}
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	a := startConnected(t, r.h, "dev-1", func(c *agent.Config) {
		r.configure(c, clock)
		c.Device = dev
		c.AuditLogPath = auditPath
	})
	r.deploy(t, "dev-1", "wf-1", "7.3.0", 8, r.signer, "")
	waitAudit(t, auditPath, "update/accepted", "update/download-paused/"+guard.ReasonLive)
	dev.set(device.CaseIdle)
	passQuiet(t, a, clock)
	r.waitResult(t, "dev-1", "wf-1", update.ResultApplySuccess)
	entries := waitAudit(t, auditPath,
		"case-state/live", "download/defer/"+guard.ReasonLive, "case-state/idle", "activate/allow",
		"update/accepted", "update/download-resumed", "update/downloaded", "update/staged",
		"update/activating", "update/activated", "update/committed")
	for _, e := range entries {
		if e.Action == "update" && e.Details["workflow"] != "wf-1" {
			t.Errorf("update audit entry %+v does not name its workflow", e)
		}
		if e.Action == "update" && e.Decision == "committed" && e.Details["resultCode"] != float64(update.ResultApplySuccess) {
			t.Errorf("committed entry %+v lacks result code 700", e)
		}
	}
}

// TestApplyUpdateNeverWidensTheMaintenanceWindow: a staged update waiting
// for its window stays waiting; applyUpdate answers "deferred" with the
// window's opening as runsAfter and activates nothing.
func TestApplyUpdateNeverWidensTheMaintenanceWindow(t *testing.T) {
	r := newUpdateRig(t)
	clock := &fakeClock{}
	closed := fmt.Sprintf("0 %d * * *", (time.Now().UTC().Hour()+12)%24) // opens half a day away
	win, err := guard.ParseWindow(closed, time.Hour, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, r.h, "dev-1", func(c *agent.Config) {
		r.configure(c, clock)
		c.Guard.Windows = []guard.Window{win}
	})
	passQuiet(t, a, clock)
	r.deploy(t, "dev-1", "wf-1", "7.3.0", 8, r.signer, "")
	hubtest.Eventually(t, 20*time.Second, func() bool {
		d, _ := reportedAck(t, r.h, "dev-1", "deviceUpdate")["deferral"].(map[string]any)
		return d["action"] == "activate" && d["reason"] == guard.ReasonOutsideWindow
	}, "staged update not reported held by the window")
	status, body := invokeWith(t, r.h, "dev-1", "applyUpdate", `{}`)
	next := win.NextOpen(clock.now())
	if status != 202 || body["reason"] != guard.ReasonOutsideWindow || body["runsAfter"] != next.UTC().Format(time.RFC3339) {
		t.Fatalf("applyUpdate outside the window = %d %v, want 202 deferred, runsAfter %s", status, body, next.UTC().Format(time.RFC3339))
	}
	time.Sleep(300 * time.Millisecond) // give a wrongly nudged activation the chance to show
	if v := r.slots.ActiveVersion(); v != carto.Version {
		t.Fatalf("slots run %s after applyUpdate outside the window", v)
	}
}
