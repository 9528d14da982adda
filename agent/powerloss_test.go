package agent_test

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
)

// TestAgentKilledMidStreamLosesNothingItAccepted runs the agent in a child
// process with a durable store, kills it with SIGKILL while it streams
// telemetry, restarts it on the same store, and checks that every message
// the child had reported as accepted reached the hub.
func TestAgentKilledMidStreamLosesNothingItAccepted(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	writeDeviceFiles(t, h, "dev-pl", dir)

	child, err := agenttest.StartChild(dir, "TestHelperAgentProcess")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Kill() })
	accepted, err := child.AcceptedUntil(30*time.Second, func(n int64) bool {
		return n >= 150 && h.Events().DeviceCount("dev-pl") >= 50
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Kill(); err != nil {
		t.Fatal(err)
	}
	// The child may have accepted a few more after its last report; the
	// check covers everything it reported.
	t.Logf("child killed after reporting %d accepted, hub had %d", accepted, h.Events().DeviceCount("dev-pl"))

	a := runAgentOnStore(t, dir)
	hubtest.Eventually(t, 20*time.Second, func() bool { return a.Stats().Pending == 0 && a.Stats().Connects > 0 },
		"restarted agent did not drain its store (pending %d)", a.Stats().Pending)
	if a.Boot() != 2 {
		t.Fatalf("restarted agent boot = %d, want 2", a.Boot())
	}
	for seq := int64(1); seq <= accepted; seq++ {
		if h.Events().Seen("dev-pl", telemetry.MessageID("dev-pl", 1, uint64(seq))) == 0 {
			t.Fatalf("message %d of %d accepted before the kill never reached the hub", seq, accepted)
		}
	}
}

// TestHelperAgentProcess is the child of the power-loss test: it runs the
// agent of the device writeDeviceFiles wrote and prints its accepted count
// as it grows.
func TestHelperAgentProcess(t *testing.T) {
	if !agenttest.ServeChild() {
		t.Skip("helper process for TestAgentKilledMidStreamLosesNothingItAccepted")
	}
}

// writeDeviceFiles registers id at h and writes into dir what an agent
// needs to run as id (see agenttest.WriteChildDevice).
func writeDeviceFiles(t *testing.T, h *hubsim.Hub, id, dir string) {
	t.Helper()
	if err := h.CreateDevice(id); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := h.IssueDeviceCert(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := agenttest.WriteChildDevice(dir, id, h.HostName(), h.MQTTAddr(), certPEM, keyPEM, h.CA().CertPEM); err != nil {
		t.Fatal(err)
	}
}

// runAgentOnStore runs, until the test ends, the agent of the device
// writeDeviceFiles wrote in dir, on the store dir/agent.db, sending only
// what is already stored.
func runAgentOnStore(t *testing.T, dir string) *agent.Agent {
	t.Helper()
	cfg, err := agenttest.ChildConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TelemetryInterval = time.Hour
	a, _ := agenttest.Run(t, cfg)
	return a
}

func TestCorruptStoreIsSetAsideAndReportedWithAnAlert(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	dir := t.TempDir()
	writeDeviceFiles(t, h, "dev-pl", dir)
	if err := os.WriteFile(filepath.Join(dir, "agent.db"), []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	a := runAgentOnStore(t, dir)
	hubtest.Eventually(t, 10*time.Second, func() bool { return a.Stats().Delivered >= 1 }, "the agent delivered nothing")
	first := h.Events().Events()[0]
	if first.Properties["alert"] != "storeRecovered" || !strings.Contains(string(first.Body), "corrupt") && !strings.Contains(string(first.Body), "unreadable") {
		t.Fatalf("first message = %v %s, want the storeRecovered alert", first.Properties, first.Body)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "agent.db.corrupt-*"))
	if len(matches) != 1 {
		t.Fatalf("corrupt file not set aside: %v", matches)
	}
}

// TestFullDiskRefusesTelemetryAndReportsTheStoreUnhealthy fills a small
// store (bbolt's MaxSize stands in for the disk) while the agent cannot
// reach the hub: samples beyond what fits are refused, never half-written,
// the twin learns the store is unhealthy, and everything accepted is
// delivered once the hub is reachable.
func TestFullDiskRefusesTelemetryAndReportsTheStoreUnhealthy(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "small.db"), 0o600, &bbolt.Options{MaxSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := outbox.Open(db, "dev-1", outbox.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	big := strings.Repeat("x", 8<<10)
	nw := chaos.NewNetwork(nil)
	nw.Partition("site") // the hub is out of reach: the store fills up
	a := startAgent(t, h, "dev-1", func(c *agent.Config) {
		var d net.Dialer
		c.Store = st
		c.Device = bigDevice{big}
		c.TelemetryInterval = 5 * time.Millisecond
		c.Hub.Dial = hub.DialFunc(nw.Dialer("site", d.DialContext))
	})
	hubtest.Eventually(t, 20*time.Second, func() bool { return a.Stats().Refused > 0 }, "no sample refused by the full store")
	if n, _ := st.Len(); n == 0 || int64(n) != a.Stats().Accepted {
		t.Fatalf("store holds %d items, agent accepted %d", n, a.Stats().Accepted)
	}
	nw.Heal("site")
	hubtest.Eventually(t, 20*time.Second, func() bool {
		s := reportedAck(t, h, "dev-1", "store")
		return s != nil && s["healthy"] == true && s["refused"].(float64) > 0
	}, "the twin never showed the store healthy again after refusals")
	a.SetProducing(false)
	hubtest.Eventually(t, 20*time.Second, func() bool { return a.Stats().Pending == 0 && allDelivered(h, a, "dev-1") },
		"not every accepted message reached the hub (accepted %d, pending %d)", a.Stats().Accepted, a.Stats().Pending)
}

type bigDevice struct{ pad string }

func (bigDevice) CaseState() device.CaseState { return device.CaseIdle }
func (d bigDevice) Metrics() map[string]any   { return map[string]any{"pad": d.pad} }
