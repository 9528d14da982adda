package scenarios

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
)

// Update deploys a signed software update to a share of the fleet (chosen
// from the seed), through each device's twin (deviceUpdate.service).
type Update struct {
	Share   float64 `yaml:"share"`   // fraction of the devices, in (0, 1]
	Version string  `yaml:"version"` // the software version it installs
	// SizeKiB is the payload's size. Default 64.
	SizeKiB int `yaml:"sizeKiB"`
}

func (u *Update) validate() error {
	switch {
	case u.Share <= 0 || u.Share > 1:
		return fmt.Errorf("update.share: must be in (0, 1], got %v", u.Share)
	case u.Version == "":
		return errors.New("update.version: required")
	case u.SizeKiB < 0 || u.SizeKiB > 64<<10:
		return fmt.Errorf("update.sizeKiB: must be in [0, 65536], got %d", u.SizeKiB)
	}
	return nil
}

// Guard tunes the agents' patient-first guard. In a simulation the
// maintenance window is always open, so the guard's case state and quiet
// period alone decide when an update activates.
type Guard struct {
	// QuietPeriod is the idle time, on the agents' clock, before held work
	// resumes. Zero: the agent's default (10 minutes); the floor is 1 minute.
	QuietPeriod Duration `yaml:"quietPeriod"`
	// Lease is how long one case-state observation stays valid, on the
	// agents' clock. Zero: the agent's default.
	Lease Duration `yaml:"lease"`
}

func (g Guard) config() guard.Config {
	return guard.Config{QuietPeriod: g.QuietPeriod.D(), Lease: g.Lease.D(), Windows: []guard.Window{guard.AlwaysOpen()}}
}

// updateLine is the release line every rollout of a run belongs to.
const updateLine = "carto3-v7"

// rollout is a run's update side: lab update keys (a root built into the
// agents and a signing key it certifies), the payload server, and which
// workflow each device was last offered.
type rollout struct {
	signer  *updatetest.SigningKey
	roots   update.Roots
	srv     *updatesrv.Server
	counter uint64           // release counter of the latest deployment
	offered map[string]offer // device -> its latest deployment; written by the schedule goroutine, read after it
	sent    int64            // deployments the hub accepted
}

// newRollout makes the run's lab update keys and starts the payload server.
func newRollout() (*rollout, error) {
	root, err := updatetest.NewKey("sim-root-1")
	if err != nil {
		return nil, err
	}
	roots, err := updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.Roots()
	if err != nil {
		return nil, err
	}
	signer, err := updatetest.NewSigningKey("sim-signing-1", root)
	if err != nil {
		return nil, err
	}
	return &rollout{signer: signer, roots: roots, srv: updatesrv.New(), offered: map[string]offer{}}, nil
}

func (ro *rollout) close() { ro.srv.Close() }

// hasUpdates reports whether the scenario deploys any update.
func (s *Scenario) hasUpdates() bool {
	for _, e := range s.Events {
		if e.Update != nil {
			return true
		}
	}
	return false
}

// fleetUpdates is the fleet's update configuration for this run.
func (r *run) fleetUpdates() *devsim.FleetUpdates {
	if r.updates == nil {
		return nil
	}
	return &devsim.FleetUpdates{Roots: r.updates.roots}
}

// deployUpdate publishes u's payload (seeded bytes), signs a manifest with
// the next release counter, and sets it as the desired deviceUpdate.service
// of every device in devs.
func (r *run) deployUpdate(u *Update, devs []*devsim.Device) {
	ro := r.updates
	ro.counter++
	size := u.SizeKiB
	if size == 0 {
		size = 64
	}
	payload := make([]byte, size<<10)
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(r.sc.Seed))
	binary.LittleEndian.PutUint64(seed[8:], ro.counter)
	_, _ = rand.NewChaCha8(seed).Read(payload) // never fails
	entry := ro.srv.Publish(fmt.Sprintf("carto-%s.img", u.Version), payload)
	d := carto.UpdateDevice
	m := updatetest.Manifest(update.Compatibility{Manufacturer: d.Manufacturer, Model: d.Model, HardwareID: d.HardwareID},
		updateLine, ro.counter, time.Now().Add(30*24*time.Hour), entry)
	m.UpdateID.Version = u.Version
	wf := fmt.Sprintf("rollout-%d-%s", ro.counter, u.Version)
	su, err := ro.srv.Deploy(m, ro.signer, wf)
	if err != nil {
		r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("sign update %s: %v", u.Version, err))
		return
	}
	patch, _ := json.Marshal(map[string]any{update.ComponentName: map[string]any{"__t": "c", "service": su}})
	for _, dev := range devs {
		if _, err := r.hub.UpdateDesired(dev.ID, patch); err != nil {
			r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("deploy update to %s: %v", dev.ID, err))
			continue
		}
		ro.offered[dev.ID] = offer{workflow: wf, version: u.Version}
		ro.sent++
	}
	inCase := 0
	for _, dev := range devs {
		if cs := r.caseLog[dev.ID]; len(cs) > 0 && cs[len(cs)-1].end.IsZero() {
			inCase++
		}
	}
	r.net.Timeline().Record("update", "", fmt.Sprintf("update %s deployed to %d devices (%d in a patient case)", u.Version, len(devs), inCase))
}

// offer is the deployment a device was last offered.
type offer struct{ workflow, version string }

// outcome is what a device's twin reports about its latest deployment.
type outcome struct {
	settled, installed, rejected, rolledBack bool
}

// outcomeOf reads the reported deviceUpdate component of device id for
// workflow wf: the service's view, as Azure Device Update would see it.
func (r *run) outcomeOf(id, wf string) outcome {
	tw, err := r.hub.Twin(id)
	if err != nil {
		return outcome{}
	}
	du, _ := tw.Reported.Props[update.ComponentName].(map[string]any)
	ag, _ := du["agent"].(map[string]any)
	flow, _ := ag["workflow"].(map[string]any)
	if flow["id"] != wf {
		return outcome{}
	}
	res, _ := ag["lastInstallResult"].(map[string]any)
	code := fmt.Sprint(res["resultCode"]) // float64 or json.Number, as the twin decoded it
	switch update.Phase(fmt.Sprint(du["phase"])) {
	case update.PhaseCommitted:
		return outcome{settled: true, installed: code == strconv.Itoa(update.ResultApplySuccess)}
	case update.PhaseFailed:
		return outcome{settled: true, rejected: noSteps(res)}
	case update.PhaseRolledBack:
		return outcome{settled: true, rolledBack: true}
	case update.PhaseCancelled:
		return outcome{settled: true}
	}
	return outcome{}
}

// noSteps reports whether a result has no step results: the deployment
// failed verification before any download.
func noSteps(res map[string]any) bool {
	steps, _ := res["stepResults"].(map[string]any)
	for _, v := range steps {
		if v != nil {
			return false
		}
	}
	return true
}

// updatesSettled reports whether every offered deployment came to rest.
func (r *run) updatesSettled() bool {
	if r.updates == nil {
		return true
	}
	for id, of := range r.updates.offered {
		if !r.outcomeOf(id, of.workflow).settled {
			return false
		}
	}
	return true
}
