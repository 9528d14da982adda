package agent_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// TestDeviceUpdateThroughTheTwin deploys a signed update by setting the
// desired deviceUpdate component, and waits for the agent to report it
// committed (REQ-UPD-001 end to end through the hub).
func TestDeviceUpdateThroughTheTwin(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	srv := updatesrv.New()
	t.Cleanup(srv.Close)
	root, _ := updatetest.NewKey("root-1")
	roots, err := updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.Roots()
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := updatetest.NewSigningKey("signing-1", root)
	compat := update.Compatibility{Manufacturer: "Biosense Webster", Model: "CARTO 3", HardwareID: "c3-v7-rev2"}
	slots, err := carto.OpenSlots(filepath.Join(t.TempDir(), "slots"), carto.Version)
	if err != nil {
		t.Fatal(err)
	}
	dev := carto.New(1)
	dev.UseSlots(slots)
	clock := &fakeClock{}
	startAgent(t, h, "dev-1", func(c *agent.Config) {
		c.Device = dev
		c.Now = clock.now
		c.Guard = guard.Config{QuietPeriod: time.Minute, Lease: 2 * time.Minute, Windows: []guard.Window{guard.AlwaysOpen()}}
		c.Updates = &agent.UpdatesConfig{
			Roots: roots, Installer: slots, Dir: filepath.Join(t.TempDir(), "work"), Client: srv.Client(),
			Device: update.Device{Manufacturer: compat.Manufacturer, Model: compat.Model, HardwareID: compat.HardwareID},
		}
	})
	time.Sleep(500 * time.Millisecond) // the case poll observes idle
	clock.advance(70 * time.Second)    // past the quiet period, within the lease

	entry := srv.Publish("carto-7.3.0.img", []byte("new software"))
	m := updatetest.Manifest(compat, "carto3-v7", 8, time.Now().Add(24*time.Hour), entry)
	m.UpdateID.Version = "7.3.0"
	su, err := srv.Deploy(m, signer, "wf-1")
	if err != nil {
		t.Fatal(err)
	}
	patch, _ := json.Marshal(map[string]any{"deviceUpdate": map[string]any{"__t": "c", "service": su}})
	if _, err := h.UpdateDesired("dev-1", patch); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		du := reportedAck(t, h, "dev-1", "deviceUpdate")
		ag, _ := du["agent"].(map[string]any)
		res, _ := ag["lastInstallResult"].(map[string]any)
		if ag["state"] == float64(0) && res["resultCode"] == float64(700) && slots.ActiveVersion() == "7.3.0" {
			t.Logf("reported deviceUpdate: %v", du)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(fmt.Sprintf("deviceUpdate reported %v; slots run %s", du, slots.ActiveVersion()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
