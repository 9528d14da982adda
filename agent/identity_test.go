package agent_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	agenthub "github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// dpsHub starts a hub with its DPS on the lab PKI; issued certificates
// live for validity.
func dpsHub(t *testing.T, lab *testpki.LabPKI, validity time.Duration) *hubsim.Hub {
	t.Helper()
	h, err := hubsim.New(hubsim.Config{
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		DPS:    &hubsim.DPSConfig{PKI: lab, Options: dps.Config{RetryAfter: 0, Issuance: dps.IssuancePolicy{Validity: validity}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h
}

func runIdentityAgent(t *testing.T, h *hubsim.Hub, lab *testpki.LabPKI, regID, dir string, clock *fakeClock) *agent.Agent {
	t.Helper()
	boot, err := lab.IssueBootstrap(regID, "")
	if err != nil {
		t.Fatal(err)
	}
	cert := boot.TLS()
	cfg := agent.Config{
		Hub: hubtestSessionless(h),
		Identity: &agent.IdentityConfig{
			Dir: dir,
			Provision: provision.Config{
				IDScope: h.IDScope(), RegistrationID: regID, Address: h.DPSAddr(), ServerName: "localhost",
				RootCAs: h.CA().Pool(), Certificate: &cert, Timeout: 20 * time.Second,
			},
			Renewal: identity.Renewal{UrgentMargin: time.Minute},
		},
		TelemetryInterval: 100 * time.Millisecond,
		AuthRetryFloor:    100 * time.Millisecond,
		Now:               clock.now,
		Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	cfg.Guard.Lease = 2 * time.Minute
	cfg.Guard.QuietPeriod = time.Minute
	a, _ := agenttest.Run(t, cfg)
	return a
}

// TestAgentProvisionsThroughDPSAndReachesTheHub is the two-phase flow in
// the agent: only a bootstrap certificate at first boot; the agent
// registers with DPS with a CSR for its own key, stores the issued
// identity and sends telemetry to the assigned hub with it. A restart
// reuses the stored identity without provisioning again.
func TestAgentProvisionsThroughDPSAndReachesTheHub(t *testing.T) {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := dpsHub(t, lab, 0)
	dir := t.TempDir()
	a := runIdentityAgent(t, h, lab, "carto-id-1", dir, &fakeClock{})
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Delivered >= 2 }, "provisioned agent delivered nothing")
	if a.Stats().Provisioned != 1 || h.Events().DeviceCount("carto-id-1") < 2 {
		t.Fatalf("provisioned %d, hub has %d messages", a.Stats().Provisioned, h.Events().DeviceCount("carto-id-1"))
	}
}

// TestAgentRenewsItsIdentityBeforeExpiry advances the clock past 80 % of
// the issued certificate's lifetime: the agent renews through DPS with a
// fresh key and keeps delivering.
func TestAgentRenewsItsIdentityBeforeExpiry(t *testing.T) {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := dpsHub(t, lab, 10*time.Minute)
	clock := &fakeClock{}
	a := runIdentityAgent(t, h, lab, "carto-id-2", t.TempDir(), clock)
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Connected && a.Stats().Provisioned == 1 }, "agent never connected")
	// The guard must be out of its boot-time quiet period before renewal
	// may force a reconnect: let time pass in small steps.
	waitFor(t, 30*time.Second, func() bool {
		clock.advance(time.Second)
		return a.Gate().Status().State == "idle"
	}, "guard never idle")
	clock.advance(8*time.Minute + 30*time.Second) // past 80 % of 10 min, cert still valid
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Provisioned == 2 }, "identity not renewed (provisioned %d)", a.Stats().Provisioned)
	before := a.Stats().Delivered
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Connected && a.Stats().Delivered > before }, "agent not delivering after renewal")
}

// TestAgentReprovisionsWhenTheHubForgetsIt deletes the device from the
// hub: the hub refuses the identity, and the agent registers with DPS
// again, which re-creates the device.
func TestAgentReprovisionsWhenTheHubForgetsIt(t *testing.T) {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := dpsHub(t, lab, 0)
	a := runIdentityAgent(t, h, lab, "carto-id-3", t.TempDir(), &fakeClock{})
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Connected }, "agent never connected")
	if err := h.DeleteDevice("carto-id-3"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool { return a.Stats().Provisioned >= 2 && a.Stats().Connected }, "agent did not re-provision (provisioned %d)", a.Stats().Provisioned)
}

func hubtestSessionless(h *hubsim.Hub) agenthub.Config {
	return agenthub.Config{Address: h.MQTTAddr(), RootCAs: h.CA().Pool(), KeepAlive: 2 * time.Second, PingTimeout: time.Second, ConnectTimeout: 5 * time.Second}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+msg, append([]any{d}, args...)...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFailedRenewalKeepsTheCurrentCertificate disables the enrollment
// before renewal is due: the renewal fails, and the agent keeps delivering
// with the certificate it has (still valid) instead of going offline.
func TestFailedRenewalKeepsTheCurrentCertificate(t *testing.T) {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := dpsHub(t, lab, 10*time.Minute)
	clock := &fakeClock{}
	a := runIdentityAgent(t, h, lab, "carto-id-4", t.TempDir(), clock)
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Connected && a.Stats().Provisioned == 1 }, "agent never connected")
	waitFor(t, 30*time.Second, func() bool {
		clock.advance(time.Second)
		return a.Gate().Status().State == "idle"
	}, "guard never idle")
	if err := h.DPS().SetDisabled(true, hubsim.DefaultEnrollmentGroup, true); err != nil {
		t.Fatal(err)
	}
	before := a.Stats().Connects
	clock.advance(8*time.Minute + 30*time.Second) // renewal due, certificate still valid
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Connects > before && a.Stats().Connected }, "agent did not reconnect after the renewal attempt")
	delivered := a.Stats().Delivered
	waitFor(t, 20*time.Second, func() bool { return a.Stats().Delivered > delivered+2 }, "agent stopped delivering after a failed renewal")
	if a.Stats().Provisioned != 1 {
		t.Fatalf("provisioned %d times, want the renewal to have failed", a.Stats().Provisioned)
	}
}
