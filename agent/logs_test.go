package agent_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/logship"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// TestUploadLogsMethodDeliversARedactedLogToTheHub drives log delivery
// through the agent as an operator would: the uploadLogs direct method
// answers with a job id at once, the job's progress ends "done" in the
// twin, and the hub holds the blob and its upload notification.
func TestUploadLogsMethodDeliversARedactedLogToTheHub(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	log := "12:00 start\nPatient: Jane Doe MRN: 12345678\n12:01 stop\n"
	if err := os.WriteFile(filepath.Join(dir, "carto.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{}
	startLogAgent(t, h, dir, clock, nil)
	// The guard starts in its quiet period; the method answers at once
	// regardless, and the upload waits for the guard.
	job := requestLogs(t, h, `{"sources":["device"]}`)
	hubtest.Eventually(t, 30*time.Second, func() bool {
		clock.advance(time.Second) // past the boot-time quiet period, in small steps
		jobs := reportedAck(t, h, "dev-1", logship.ReportedUploads)
		st, _ := jobs[job].(map[string]any)
		return st != nil && st["state"] == "done"
	}, "job %s not done in the twin", job)
	notes := h.FileNotifications()
	if len(notes) != 1 || notes[0].DeviceID != "dev-1" {
		t.Fatalf("file notifications = %+v, want one from dev-1", notes)
	}
	raw, err := h.ReadBlob(notes[0].BlobName)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(text), "Jane Doe") || strings.Contains(string(text), "12345678") || !strings.Contains(string(text), "12:01 stop") {
		t.Fatalf("uploaded log = %q, want it redacted and otherwise whole", text)
	}
}

// TestAuditLogIsShippedAsTheAuditSource: with an audit log and log
// delivery configured, the audit log is the built-in source "audit":
// uploadLogs {"sources":["audit"]} delivers it, unredacted, with the
// guard's decisions in it (every decision goes into an append-only audit
// log that is shipped off the device).
func TestAuditLogIsShippedAsTheAuditSource(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "audit"), 0o700); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{}
	startLogAgent(t, h, dir, clock, func(c *agent.Config) { c.AuditLogPath = filepath.Join(dir, "audit", "audit.log") })
	job := requestLogs(t, h, `{"sources":["audit"]}`)
	hubtest.Eventually(t, 30*time.Second, func() bool {
		clock.advance(time.Second)
		st, _ := reportedAck(t, h, "dev-1", logship.ReportedUploads)[job].(map[string]any)
		return st != nil && st["state"] == "done"
	}, "job %s not done in the twin", job)
	notes := h.FileNotifications()
	if len(notes) != 1 || !strings.Contains(notes[0].BlobName, "/audit/audit.log") {
		t.Fatalf("file notifications = %+v, want the audit log", notes)
	}
	raw, err := h.ReadBlob(notes[0].BlobName)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"case-state","decision":"idle"`, `"action":"upload","decision":"defer","reason":"quiet period after case"`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("uploaded audit log lacks %s:\n%s", want, text)
		}
	}
	if local, err := os.ReadFile(filepath.Join(dir, "audit", "audit.log")); err != nil || !bytes.HasPrefix(local, text) {
		t.Errorf("uploaded audit log is not the file's first %d bytes as written (err %v)", len(text), err)
	}
}

// startLogAgent runs dev-1 on h, connected, with log delivery of dir's
// *.log files (source "device") and a one-minute quiet period on clock;
// mutate, if set, changes more of the configuration.
func startLogAgent(t *testing.T, h *hubsim.Hub, dir string, clock *fakeClock, mutate func(*agent.Config)) *agent.Agent {
	t.Helper()
	a := startConnected(t, h, "dev-1", func(c *agent.Config) {
		c.Now = clock.now
		c.Guard = guard.Config{QuietPeriod: time.Minute, Lease: 2 * time.Minute}
		c.Logs = agent.LogsConfig{
			Sources:      []logship.Source{{Name: "device", Kind: logship.KindDeviceLog, Root: dir, Patterns: []string{"*.log"}}},
			HTTPSAddress: h.HTTPSAddr(),
		}
		if mutate != nil {
			mutate(c)
		}
	})
	return a
}

// requestLogs calls dev-1's uploadLogs direct method with payload and
// returns the job id it answers.
func requestLogs(t *testing.T, h *hubsim.Hub, payload string) string {
	t.Helper()
	status, body, err := h.InvokeMethod(context.Background(), "dev-1", "uploadLogs", []byte(payload), 10*time.Second)
	if err != nil || status != 200 {
		t.Fatalf("uploadLogs %s = %d %s %v", payload, status, body, err)
	}
	var job struct{ JobID string }
	json.Unmarshal(body, &job)
	if job.JobID == "" {
		t.Fatalf("uploadLogs answered %s, want a job id", body)
	}
	return job.JobID
}
