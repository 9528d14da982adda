package main

import (
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
)

// skewClock is the agent's clock, moved forward past the guard's quiet
// period instead of waiting it out.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

// TestPublishedUpdateInstallsOnALabAgent is the lab path end to end: pki
// update-keys, updates create, sign, publish into the hub's blob store and
// deploy; a real agent trusting the lab update roots, downloading with a
// client that trusts the hub's CA (as cloudpillar-agent's caFile does),
// installs and commits it (REQ-UPD-001).
func TestPublishedUpdateInstallsOnALabAgent(t *testing.T) {
	keys, dir, _ := makeSignedUpdate(t)
	state := t.TempDir()
	info, _, _ := startLabHub(t, state)
	if err := runPKI(t.Context(), []string{"device", "--id", "lab-9", "--state", state}, t.Output(), t.Output()); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"updates", "publish", "--dir", dir, "--state", state}, t.Output(), t.Output()); err != nil {
		t.Fatalf("updates publish = %v", err)
	}
	slots, err := carto.OpenSlots(filepath.Join(t.TempDir(), "slots"), carto.Version)
	if err != nil {
		t.Fatal(err)
	}
	a := startUpdateAgent(t, info, keys, filepath.Join(state, devicesDir, "lab-9", agentConfigFile), slots)
	waitGuard(t, a, guard.StateQuiet) // the idle device was observed
	a.clock.advance(70 * time.Second) // past the 1-minute quiet period, within the 2-minute lease
	waitGuard(t, a, guard.StateIdle)

	deployWithin(t, state, dir, "lab-9")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var twin struct {
			Properties struct {
				Reported struct {
					DeviceUpdate struct {
						Agent struct {
							State             *int `json:"state"`
							LastInstallResult struct {
								ResultCode int `json:"resultCode"`
							} `json:"lastInstallResult"`
						} `json:"agent"`
					} `json:"deviceUpdate"`
				} `json:"reported"`
			} `json:"properties"`
		}
		getTwin(t, state, "lab-9", &twin)
		ag := twin.Properties.Reported.DeviceUpdate.Agent
		if ag.State != nil && *ag.State == 0 && ag.LastInstallResult.ResultCode == 700 && slots.ActiveVersion() == "7.3.0" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: reported deviceUpdate.agent %+v, slots run %s; want 7.3.0 committed (700)", ag, slots.ActiveVersion())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// updateAgent is a running agent and the clock it runs on.
type updateAgent struct {
	*agent.Agent
	clock *skewClock
}

// startUpdateAgent runs an agent on the lab agent config at cfgPath with
// updates on slots; it stops at cleanup.
func startUpdateAgent(t *testing.T, info hubInfo, keys, cfgPath string, slots *carto.Slots) updateAgent {
	t.Helper()
	roots, err := loadLabRoots(keys)
	if err != nil {
		t.Fatal(err)
	}
	dl := labHTTPS(t, info)
	dl.Timeout = 0 // the downloader polices the body's pace itself
	dev := carto.New(1)
	dev.UseSlots(slots)
	clock := &skewClock{}
	a, _ := agenttest.Run(t, agent.Config{
		Hub: loadLabAgentConfig(t, cfgPath), AuthRetryFloor: 200 * time.Millisecond,
		Device: dev, Now: clock.now,
		Guard: guard.Config{QuietPeriod: time.Minute, Lease: 2 * time.Minute, Windows: []guard.Window{guard.AlwaysOpen()}},
		Updates: &agent.UpdatesConfig{
			Roots: roots, Device: carto.UpdateDevice, Installer: slots, Dir: filepath.Join(t.TempDir(), "work"), Client: dl,
		},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	return updateAgent{Agent: a, clock: clock}
}

// waitGuard polls the agent's patient-first guard until it is in state.
func waitGuard(t *testing.T, a updateAgent, state string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for a.Gate().Status().State != state {
		if time.Now().After(deadline) {
			t.Fatalf("guard %+v after 20 s, want %s", a.Gate().Status(), state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
