package devsim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// TestScaledClockRunsFaster checks the agents' simulated clock
// (DESIGN.md decision 8) against real time.
func TestScaledClockRunsFaster(t *testing.T) {
	if c := scaledClock(time.Now(), 1); time.Since(c()) > time.Second {
		t.Fatal("scale 1 is not the real clock")
	}
	origin := time.Now()
	c := scaledClock(origin, 10)
	time.Sleep(20 * time.Millisecond)
	elapsed, sim := time.Since(origin), c().Sub(origin)
	if sim < 9*elapsed || sim > 11*time.Since(origin) {
		t.Fatalf("after %v of real time the clock advanced %v, want about 10x", elapsed, sim)
	}
}

// TestFleetUpdatesGiveEveryDeviceSlots checks the update wiring: slots
// with the factory version under StoreDir/slots/<id>, a journal, and the
// active slot's version in the device's metrics.
func TestFleetUpdatesGiveEveryDeviceSlots(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	root, err := updatetest.NewKey("root")
	if err != nil {
		t.Fatal(err)
	}
	roots, err := updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.Roots()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f, err := New(Config{Hub: h, Devices: 2, StoreDir: dir, TimeScale: 4, Updates: &FleetUpdates{Roots: roots}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.release() })
	for _, d := range f.Devices() {
		if d.Slots == nil || d.Work == nil {
			t.Fatalf("%s has no slots or journal", d.ID)
		}
		if _, err := os.Stat(filepath.Join(dir, "slots", d.ID, "slots.json")); err != nil {
			t.Fatalf("%s slots not under the store dir: %v", d.ID, err)
		}
		if v := d.CARTO.Metrics()["softwareVersion"]; v != carto.Version {
			t.Fatalf("%s softwareVersion = %v, want %s", d.ID, v, carto.Version)
		}
	}
}
