package agent_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
)

// runStoppable runs an agent like startAgent and returns a stop function
// (also run at cleanup), so a test can restart the agent on its store.
func runStoppable(t *testing.T, cfg agent.Config) (*agent.Agent, func()) {
	t.Helper()
	a, stop := agenttest.Run(t, cfg)
	return a, stop
}

// TestRootRotationThroughTheTwinSurvivesAnAgentRestart: a deployment set
// in the twin names a root key package; the agent rotates its roots,
// installs the update signed under the new root, and after a restart on
// the same store still trusts the new root (a second update signed under
// it installs without any package) and no longer the old one.
func TestRootRotationThroughTheTwinSurvivesAnAgentRestart(t *testing.T) {
	r := newUpdateRig(t)
	root2, err := updatetest.NewKey("root-2")
	if err != nil {
		t.Fatal(err)
	}
	signer2, err := updatetest.NewSigningKey("signing-2", root2)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := updatetest.RotationPackage(updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{root2}}, r.root, root2)
	if err != nil {
		t.Fatal(err)
	}
	r.srv.Publish("rootkeys-v2.json", pkg)
	dir := t.TempDir()
	clock := &fakeClock{}
	cfg := agent.Config{
		Hub:               hubtest.SessionConfig(r.h, "dev-1", hubtest.Device(t, r.h, "dev-1")),
		TelemetryInterval: 100 * time.Millisecond,
		Backoff:           backoff.Policy{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond},
		Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		StorePath:         filepath.Join(dir, "agent.db"),
		AuditLogPath:      filepath.Join(dir, "audit.log"),
	}
	r.configure(&cfg, clock)

	a, stop := runStoppable(t, cfg)
	passQuiet(t, a, clock)
	r.deploy(t, "dev-1", "wf-1", "7.3.0", 8, signer2, r.srv.URL()+"/rootkeys-v2.json")
	r.waitResult(t, "dev-1", "wf-1", update.ResultApplySuccess)
	waitAudit(t, cfg.AuditLogPath, "update/roots-rotated", "update/committed")
	stop()

	a, _ = runStoppable(t, cfg)
	passQuiet(t, a, clock)
	r.deploy(t, "dev-1", "wf-2", "7.4.0", 9, r.signer, "") // the retired root's chain
	res := r.waitResult(t, "dev-1", "wf-2", update.ResultFailure)
	if res["extendedResultCode"] != float64(update.ReasonUnknownKey.ExtendedResultCode()) {
		t.Fatalf("update signed under the retired root: lastInstallResult %v, want unknown-key", res)
	}
	r.deploy(t, "dev-1", "wf-3", "7.4.0", 9, signer2, "")
	r.waitResult(t, "dev-1", "wf-3", update.ResultApplySuccess)
	if v := r.slots.ActiveVersion(); v != "7.4.0" {
		t.Fatalf("slots run %s, want 7.4.0", v)
	}
}
