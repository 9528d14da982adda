package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amenzhinsky/iothub/iotservice"

	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// runAgent runs the service (serve, as run does once the config is
// loaded) until the test ends, and checks it stops cleanly then.
func runAgent(t *testing.T, cfg *config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer // only written before the log file opens
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve = %v, want nil after cancel; stderr %s", err, stderr.String())
			}
		case <-time.After(stopTimeout + 5*time.Second):
			t.Errorf("serve did not return within %v of cancel", stopTimeout+5*time.Second)
		}
	})
}

// startService writes body as dir/agent.yaml, loads it and serves it until
// the test ends, with the agent's clock timeScale times faster than real
// time when timeScale > 1 (the guard's quiet period after start is at
// least a minute). It returns once the service logged "started" to
// dir/logs/agent.log (the config must log there) and /healthz reports it
// connected with telemetry delivered (waitHealthy).
func startService(t *testing.T, dir, body string, timeScale int) (cfg *config, started map[string]any, rep healthReport) {
	t.Helper()
	path := filepath.Join(dir, "agent.yaml")
	writeFile(t, path, body)
	cfg, err := loadConfig(path, overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if timeScale > 1 {
		cfg.now = scaledClock{start: time.Now(), factor: time.Duration(timeScale)}.now
	}
	runAgent(t, cfg)
	started = waitLogRecord(t, filepath.Join(dir, "logs", "agent.log"), "started", 30*time.Second)
	return cfg, started, waitHealthy(t, started["health"].(string))
}

// waitHealthy polls /healthz until the agent is connected and has
// delivered telemetry, and returns the report.
func waitHealthy(t *testing.T, healthAddr string) healthReport {
	t.Helper()
	url := "http://" + healthAddr + healthPath
	var rep healthReport
	hubtest.Eventually(t, 60*time.Second, func() bool {
		code, r, _ := getHealth(t, http.MethodGet, url)
		rep = r
		return code == 200 && r.Connected && r.LastDelivered != nil
	}, "/healthz never reported connected with a delivery; last %+v", rep)
	return rep
}

// TestRunProvisionsThroughDPS: a service whose config has a provisioning
// section and no device certificate registers with DPS using its
// bootstrap certificate, stores the operational identity DPS issued (in
// the default folder next to the store), connects to the hub DPS
// assigned and sends telemetry; /healthz reports the issued
// certificate's expiry, not the bootstrap's (DESIGN.md decision 4).
func TestRunProvisionsThroughDPS(t *testing.T) {
	dir := t.TempDir()
	lab := writeLab(t, dir, "carto-e2e-1")
	h := hubtest.NewHub(t, hubsim.Config{DPS: &hubsim.DPSConfig{PKI: lab, Options: dps.Config{RetryAfter: 0}}})
	body := fmt.Sprintf(`caFile: ca.pem
hubAddress: %s
storePath: state/agent.db
telemetryIntervalSeconds: 1
logFile: logs/agent.log
healthAddress: 127.0.0.1:0
provisioning:
  globalEndpoint: localhost
  address: %s
  idScope: %s
  certFile: boot.pem
  keyFile: boot-key.pem
  timeoutSeconds: 20
guard:
  quietPeriodMinutes: 1
logs:
  httpsAddress: %s
`, h.MQTTAddr(), h.DPSAddr(), h.IDScope(), h.HTTPSAddr())
	cfg, started, rep := startService(t, dir, body, 10) // 10x: the quiet period after start, for the upload below
	logPath := filepath.Join(dir, "logs", "agent.log")
	if started["registrationId"] != "carto-e2e-1" || started["device"] != "carto-e2e-1" {
		t.Errorf("started record = %v, want registration and device carto-e2e-1", started)
	}
	waitLogRecord(t, logPath, "provisioned", 5*time.Second)
	issued := readIdentity(t, filepath.Join(dir, "state", "identity"))
	if issued.DeviceID != "carto-e2e-1" || issued.AssignedHub != h.HostName() {
		t.Errorf("stored identity: device %q hub %q, want carto-e2e-1 at %s", issued.DeviceID, issued.AssignedHub, h.HostName())
	}
	leaf, err := issued.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	boot := cfg.Credential.Leaf
	if rep.IdentityExpires == nil || !rep.IdentityExpires.Equal(leaf.NotAfter) || leaf.NotAfter.Equal(boot.NotAfter) {
		t.Errorf("/healthz identityExpires = %v, want the issued certificate's %v (bootstrap: %v)", rep.IdentityExpires, leaf.NotAfter, boot.NotAfter)
	}
	if leaf.Issuer.CommonName != lab.Operational.Cert.Subject.CommonName {
		t.Errorf("issued certificate's issuer = %s, want the operational CA", leaf.Issuer)
	}
	if n := h.Events().DeviceCount("carto-e2e-1"); n < 1 {
		t.Errorf("hub recorded %d messages from carto-e2e-1, want telemetry", n)
	}
	// Log delivery follows the hub DPS assigned: no hubHostName in the
	// config, yet the agent's own log reaches that hub.
	res := callMethod(t, h, "carto-e2e-1", "uploadLogs", map[string]any{"sources": []string{"agent"}})
	if res.Status != 200 || res.Payload["jobId"] == nil {
		t.Fatalf("uploadLogs answered %d %v, want 200 with a job id", res.Status, res.Payload)
	}
	hubtest.Eventually(t, 60*time.Second, func() bool {
		for _, n := range h.FileNotifications() {
			if n.DeviceID == "carto-e2e-1" && strings.Contains(n.BlobName, "/agent/") {
				return true
			}
		}
		return false
	}, "no upload of the agent's log from the provisioned device: %+v", h.FileNotifications())
}

func readIdentity(t *testing.T, dir string) identity.Identity {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, identity.CurrentFile))
	if err != nil {
		t.Fatalf("no stored identity: %v", err)
	}
	var id identity.Identity
	if err := json.Unmarshal(raw, &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// scaledClock runs factor times faster than real time from its start.
type scaledClock struct {
	start  time.Time
	factor time.Duration
}

func (c scaledClock) now() time.Time { return c.start.Add(time.Since(c.start) * c.factor) }

// TestRunShipsLogsOnUploadLogs: a service whose config has a logs section
// answers the uploadLogs direct method, invoked through the hub's service
// REST API, and uploads the configured device log (redacted with the
// default and the configured patterns), its own log file and the audit
// log (the built-in sources) to the hub's blob store once the guard's
// quiet period has passed (REQ-LOG-001).
func TestRunShipsLogsOnUploadLogs(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	writeDevice(t, h, dir, "dev-1")
	if err := os.Mkdir(filepath.Join(dir, "carto"), 0o700); err != nil {
		t.Fatal(err)
	}
	deviceLog := "12:00 start\nPatient: Jane Doe MRN: 12345678\nprobe SN-123456 attached\n12:01 stop\n"
	writeFile(t, filepath.Join(dir, "carto", "case.log"), deviceLog)
	body := strings.Replace(validYAML, "hub.example", h.HostName(), 1) + "hubAddress: " + h.MQTTAddr() + `
storePath: state/agent.db
logFile: logs/agent.log
healthAddress: 127.0.0.1:0
guard:
  quietPeriodMinutes: 1
logs:
  httpsAddress: ` + h.HTTPSAddr() + `
  sources:
    - name: device
      kind: device
      glob: carto/*.log
  redaction:
    - name: serial
      regex: 'SN-\d{6}'
      replace: SN-[REDACTED]
`
	// A clock ten times faster keeps the quiet period short while the
	// case-state lease (10 s) still spans several polls.
	startService(t, dir, body, 10)

	res := callMethod(t, h, "dev-1", "uploadLogs", map[string]any{"sources": []string{"device", "agent", "audit"}})
	if res.Status != 200 || res.Payload["jobId"] == nil {
		t.Fatalf("uploadLogs answered %d %v, want 200 with a job id", res.Status, res.Payload)
	}
	notes := map[string]blob.Notification{}
	hubtest.Eventually(t, 60*time.Second, func() bool {
		for _, n := range h.FileNotifications() {
			for _, src := range []string{"device", "agent", "audit"} {
				if n.DeviceID == "dev-1" && strings.Contains(n.BlobName, "/"+src+"/") {
					notes[src] = n
				}
			}
		}
		return len(notes) == 3
	}, "uploaded sources %v, want device, agent and audit", notes)
	got := gunzipBlob(t, h, notes["device"].BlobName)
	want := "12:00 start\nPatient: [REDACTED]\nprobe SN-[REDACTED] attached\n12:01 stop\n"
	if got != want {
		t.Errorf("device log blob =\n%s\nwant\n%s", got, want)
	}
	if audit := gunzipBlob(t, h, notes["audit"].BlobName); !strings.Contains(audit, `"action":"case-state","decision":"idle"`) {
		t.Errorf("audit log blob = %q, want the guard's case-state entries", audit)
	}
}

// callMethod invokes a direct method through the hub's service REST API
// with the third-party iotservice client, as a cloud operator would.
func callMethod(t *testing.T, h *hubsim.Hub, deviceID, name string, payload map[string]any) *iotservice.MethodResult {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: h.CA().Pool(), ServerName: h.HostName(), MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", h.HTTPSAddr()) // the connection string names the hub's host
		},
	}
	defer tr.CloseIdleConnections()
	c, err := iotservice.NewFromConnectionString(h.ServiceConnectionString(),
		iotservice.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := c.CallDeviceMethod(ctx, deviceID, &iotservice.MethodCall{MethodName: name, ResponseTimeout: 20, Payload: payload})
	if err != nil {
		t.Fatalf("%s on %s: %v", name, deviceID, err)
	}
	return res
}

// gunzipBlob reads a blob from the hub's store and decompresses it.
func gunzipBlob(t *testing.T, h *hubsim.Hub, name string) string {
	t.Helper()
	raw, err := h.ReadBlob(name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("blob %s: %v", name, err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("blob %s: %v", name, err)
	}
	return string(text)
}

// TestRunWiresGuardAuditAndUpdates: a service with guard, updates and
// the default audit log reports the deviceUpdate component with the
// configured device identity and the next maintenance window from the
// configured windows, creates the script installer's slots next to the
// store, and writes the guard's decisions to the audit log there.
func TestRunWiresGuardAuditAndUpdates(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	writeDevice(t, h, dir, "dev-1")
	writeRoots(t, dir)
	body := strings.Replace(validYAML, "hub.example", h.HostName(), 1) + "hubAddress: " + h.MQTTAddr() + `
storePath: state/agent.db
logFile: logs/agent.log
healthAddress: 127.0.0.1:0
telemetryIntervalSeconds: 1
batchSamples: 2
guard:
  timeZone: Europe/Berlin
  windows:
    - {start: "0 3 * * *", durationMinutes: 120}
updates:
  rootsFile: roots.json
  device: {manufacturer: Biosense Webster, model: CARTO 3, hardwareId: hw-7}
`
	startService(t, dir, body, 1)
	var du map[string]any
	hubtest.Eventually(t, 30*time.Second, func() bool {
		du = reported(t, h, "dev-1", "deviceUpdate")
		g, _ := du["guard"].(map[string]any)
		return g != nil && g["nextWindow"] != nil
	}, "reported deviceUpdate %v, want a guard with the next maintenance window", du)
	props, _ := du["agent"].(map[string]any)["deviceProperties"].(map[string]any)
	if props["manufacturer"] != "Biosense Webster" || props["model"] != "CARTO 3" {
		t.Errorf("deviceUpdate.agent.deviceProperties = %v, want the configured device", props)
	}
	next, err := time.Parse(time.RFC3339, du["guard"].(map[string]any)["nextWindow"].(string))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if err != nil || next.In(berlin).Hour() != 3 || next.In(berlin).Minute() != 0 {
		t.Errorf("nextWindow = %v (%v), want 03:00 in Europe/Berlin", du["guard"].(map[string]any)["nextWindow"], err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "installer", "state.json")); err != nil {
		t.Errorf("installer state next to the store: %v", err)
	}
	hubtest.Eventually(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "state", "audit.log"))
		return bytes.Contains(b, []byte(`"action":"case-state"`))
	}, "no case-state entry in the audit log next to the store")
}

// reported is a device's reported property prop, as JSON-decoded maps.
func reported(t *testing.T, h *hubsim.Hub, id, prop string) map[string]any {
	t.Helper()
	tw, err := h.Twin(id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tw.Reported.Props[prop])
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}
