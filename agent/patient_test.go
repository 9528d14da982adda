package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// caseDevice is a host device whose case state the test sets, and which
// counts reboots.
type caseDevice struct {
	state   atomic.Int32
	reboots atomic.Int32
}

func (d *caseDevice) CaseState() device.CaseState  { return device.CaseState(d.state.Load()) }
func (d *caseDevice) Metrics() map[string]any      { return nil }
func (d *caseDevice) Reboot(context.Context) error { d.reboots.Add(1); return nil }
func (d *caseDevice) set(s device.CaseState)       { d.state.Store(int32(s)) }
func (d *caseDevice) rebooted() int                { return int(d.reboots.Load()) }

// fakeClock is wall time plus a skew the test advances.
type fakeClock struct{ skew atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

func invoke(t *testing.T, h *hubsim.Hub, id, name string) (int, map[string]any) {
	t.Helper()
	status, body, err := h.InvokeMethod(context.Background(), id, name, nil, 10*time.Second)
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	return status, m
}

// TestRebootIsDeferredDuringACaseAndRunsAfterTheQuietPeriod checks the
// patient-first floor end to end: the direct method answers "deferred"
// while a case is live and during the quiet period after it, the guard's
// state is reported in the twin, and only then does the reboot happen.
func TestRebootIsDeferredDuringACaseAndRunsAfterTheQuietPeriod(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dev := &caseDevice{}
	dev.set(device.CaseLive)
	clock := &fakeClock{}
	a := startConnected(t, h, "dev-1", func(c *agent.Config) {
		c.Device = dev
		c.Now = clock.now
		c.Guard.QuietPeriod = 2 * time.Minute
		c.Guard.Lease = 2 * time.Minute
	})

	status, body := invoke(t, h, "dev-1", "reboot")
	if status != 202 || body["status"] != "deferred" || body["reason"] != "patient case live" || dev.rebooted() != 0 {
		t.Fatalf("reboot during a case = %d %v (reboots %d), want 202 deferred: patient case live", status, body, dev.rebooted())
	}
	hubtest.Eventually(t, 10*time.Second, func() bool {
		g := reportedAck(t, h, "dev-1", "guard")
		return g != nil && g["state"] == "live" && g["deferrals"].(float64) >= 1
	}, "guard state not reported as live with a deferral")

	dev.set(device.CaseIdle)
	hubtest.Eventually(t, 5*time.Second, func() bool { return a.Gate().Status().State == "quiet" }, "guard did not enter the quiet period")
	if status, body := invoke(t, h, "dev-1", "reboot"); status != 202 || body["retryAt"] == nil {
		t.Fatalf("reboot in the quiet period = %d %v, want 202 with retryAt", status, body)
	}
	// Time passes in 1 s steps every 10 ms: the case-state poll (every
	// 250 ms) sees steps of a few seconds, well inside the 2 min lease, so
	// the guard reads it as continuous idle rather than a clock jump.
	hubtest.Eventually(t, 30*time.Second, func() bool {
		clock.advance(time.Second)
		return a.Gate().Status().State == "idle"
	}, "guard did not become idle after the quiet period")
	if status, body := invoke(t, h, "dev-1", "reboot"); status != 200 || body["status"] != "rebooting" {
		t.Fatalf("reboot when idle = %d %v, want 200 rebooting", status, body)
	}
	hubtest.Eventually(t, 5*time.Second, func() bool { return dev.rebooted() == 1 }, "device not rebooted")
}

// TestMaintenanceWindowsAreSetThroughTheTwin: a valid list of windows is
// acknowledged and takes effect in the guard; a malformed one is rejected
// with a reason naming the bad entry, and the windows in force stay.
func TestMaintenanceWindowsAreSetThroughTheTwin(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	a := startConnected(t, h, "dev-1", nil)
	v, err := h.UpdateDesired("dev-1", []byte(`{"maintenanceWindows":[{"start":"0 2 * * *","durationMinutes":120,"timeZone":"Europe/Berlin"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	hubtest.Eventually(t, 10*time.Second, func() bool {
		return ackIs(reportedAck(t, h, "dev-1", agent.PropMaintenanceWindows), 200, v)
	}, "windows not acknowledged at version %d", v)
	if a.Gate().Status().NextWindow.IsZero() {
		t.Fatal("the guard knows no maintenance window after the twin set one")
	}
	v, err = h.UpdateDesired("dev-1", []byte(`{"maintenanceWindows":[{"start":"0 25 * * *","durationMinutes":60,"timeZone":"UTC"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var ack map[string]any
	hubtest.Eventually(t, 10*time.Second, func() bool {
		ack = reportedAck(t, h, "dev-1", agent.PropMaintenanceWindows)
		return ackIs(ack, 400, v)
	}, "bad window not rejected at version %d", v)
	if ad, _ := ack["ad"].(string); !strings.Contains(ad, "maintenanceWindows[0]") {
		t.Fatalf("rejection reason %q does not name the entry", ad)
	}
	if a.Gate().Status().NextWindow.IsZero() {
		t.Fatal("the windows in force were dropped by a rejected change")
	}
}
