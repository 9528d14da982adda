package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// examplePackage is the script package integrators start from.
const examplePackage = "../../agent/update/scripts/testdata/example-package"

// TestRunInstallsASignedScriptPackage: the service, configured with an
// updates section, takes a deployment from its twin (Azure Device
// Update's contract), verifies the manifest against the configured root
// keys, downloads the package over HTTPS from a server whose certificate
// only caFile's CA vouches for, and runs the package's install, activate,
// health and commit scripts through the script installer: the example
// device ends on slot B and the twin reports the update installed.
func TestRunInstallsASignedScriptPackage(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("the example package's scripts need sh")
	}
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	writeDevice(t, h, dir, "dev-1")
	root, err := updatetest.NewKey("root-1")
	if err != nil {
		t.Fatal(err)
	}
	rootsJSON, err := updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.JSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "roots.json"), string(rootsJSON))
	signer, err := updatetest.NewSigningKey("signing-1", root)
	if err != nil {
		t.Fatal(err)
	}

	// The package's files, served over TLS under the hub's CA (as the
	// hub's blob store serves published updates).
	files := map[string][]byte{}
	var entries []update.FileEntry
	des, err := os.ReadDir(examplePackage)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(examplePackage, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[de.Name()] = b
		entries = append(entries, updatetest.File(de.Name(), b))
	}
	srvCert, err := h.CA().IssueServer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/pkg/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	device := filepath.Join(dir, "example-device")
	if err := os.Mkdir(device, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(device, "current"), "A\n")
	body := strings.Replace(validYAML, "hub.example", h.HostName(), 1) + "hubAddress: " + h.MQTTAddr() + `
storePath: state/agent.db
logFile: logs/agent.log
healthAddress: 127.0.0.1:0
guard:
  quietPeriodMinutes: 1
  windows: # always open: without a window an update never activates
    - {start: "0 * * * *", durationMinutes: 60}
updates:
  rootsFile: roots.json
  device: {manufacturer: Biosense Webster, model: CARTO 3, hardwareId: hw-7}
  installer:
    env: [EXAMPLE_DEVICE_DIR=` + device + `]
`
	startService(t, dir, body, 10) // 10x: the quiet period after start is 6 s

	m := updatetest.Manifest(update.Compatibility{Manufacturer: "Biosense Webster", Model: "CARTO 3", HardwareID: "hw-7"},
		"carto-app", 1, time.Now().Add(30*24*time.Hour), entries...)
	su, err := updatetest.Deployment(m, signer, "wf-e2e", srv.URL+"/pkg")
	if err != nil {
		t.Fatal(err)
	}
	patch, _ := json.Marshal(map[string]any{update.ComponentName: map[string]any{"__t": "c", "service": su}})
	if _, err := h.UpdateDesired("dev-1", patch); err != nil {
		t.Fatal(err)
	}
	want := m.UpdateID.ADUString()
	var du map[string]any
	hubtest.Eventually(t, 90*time.Second, func() bool {
		du = reported(t, h, "dev-1", update.ComponentName)
		a, _ := du["agent"].(map[string]any)
		return a != nil && a["installedUpdateId"] == want
	}, "reported deviceUpdate %v, want installedUpdateId %s; agent log:\n%s", du, want, readLog(filepath.Join(dir, "logs", "agent.log")))
	if b, _ := os.ReadFile(filepath.Join(device, "current")); strings.TrimSpace(string(b)) != "B" {
		t.Errorf("the example device runs slot %q, want B", b)
	}
	audit, _ := os.ReadFile(filepath.Join(dir, "state", "audit.log"))
	if !bytes.Contains(audit, []byte(`"committed"`)) {
		t.Errorf("no committed decision in the audit log:\n%s", audit)
	}
}

// readLog is a log file's text, for a failure message.
func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
