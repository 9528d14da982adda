package agent_test

import (
	"crypto/tls"
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/logship"
	"github.com/cloudpillar/cloudpillar/agent/model"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
)

// TestEverythingTheAgentSaysIsDeclaredInItsModel checks the agent against
// its DTDL interface: every writable property it accepts, every read-only
// property it reports, every direct method it answers and every telemetry
// field it sends.
func TestEverythingTheAgentSaysIsDeclaredInItsModel(t *testing.T) {
	in, err := model.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := newUpdateRig(t)
	cfg := agent.Config{
		Hub:  hub.Config{DeviceID: "d", HostName: "h", Certificate: tls.Certificate{Certificate: [][]byte{{1}}}},
		Logs: agent.LogsConfig{Sources: []logship.Source{{Name: "device", Kind: logship.KindDeviceLog, Root: t.TempDir(), Patterns: []string{"*.log"}}}},
	}
	r.configure(&cfg, &fakeClock{})
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, name := range a.DirectMethods() {
		if !in.Has("Command", name, false) {
			t.Errorf("direct method %q is not declared as a command in %s", name, model.ID)
		}
	}
	if len(a.DirectMethods()) != 3 {
		t.Errorf("direct methods = %v, want reboot, uploadLogs and applyUpdate", a.DirectMethods())
	}
	for _, name := range a.WritableProperties() {
		if !in.Has("Property", name, true) {
			t.Errorf("writable property %q is not declared writable in %s", name, model.ID)
		}
	}
	for _, name := range a.ReportedProperties() {
		if !in.Has("Property", name, false) {
			t.Errorf("reported property %q is not declared in %s", name, model.ID)
		}
	}
	if !in.Has("Component", "deviceUpdate", false) {
		t.Errorf("the deviceUpdate component the agent reports is not declared in %s", model.ID)
	}
	b, _ := json.Marshal(telemetry.Sample{DeviceID: "d", Seq: 1, Time: time.Now(), CaseState: "live", Heartbeat: true, Metrics: map[string]any{"x": 1}, Batch: []telemetry.Reading{{CaseState: "idle"}}})
	var fields map[string]any
	json.Unmarshal(b, &fields)
	for name := range fields {
		if !in.Has("Telemetry", name, false) {
			t.Errorf("telemetry field %q is not declared in %s", name, model.ID)
		}
	}
}
