package logship

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// hubsimConfig is a Shipper configuration for device id of a real hubsim.
func hubsimConfig(t *testing.T, h *hubsim.Hub, id string, sources ...Source) Config {
	return Config{
		DeviceID: id, HostName: h.HostName(), Address: h.HTTPSAddr(), RootCAs: h.CA().Pool(),
		Certificate: hubtest.Device(t, h, id), Sources: sources, BlockSize: 64 << 10,
		RequestTimeout: 5 * time.Second, Backoff: backoffFast, Logger: testLogger(t),
	}
}

// checkHubsimBlob verifies a finished single-file job against hubsim: the
// blob decompresses to want with the reported SHA-256, and the file
// notification names the blob with its size and the metadata hubsim
// stored, whose sha256 is the blob's.
func checkHubsimBlob(t *testing.T, h *hubsim.Hub, id string, st map[string]any, want []byte) {
	t.Helper()
	f := file(st, 1)
	if st["state"] != StateDone {
		t.Fatalf("job %v: %v", st["state"], st["error"])
	}
	name := id + "/" + f["name"].(string)
	b, err := h.ReadBlob(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gunzip(t, b), want) || hexSHA(b) != f["sha256"] {
		t.Fatalf("blob %s: %d bytes, sha256 %s, reported %v", name, len(b), hexSHA(b), f["sha256"])
	}
	for _, n := range h.FileNotifications() {
		if n.BlobName == name && n.BlobSizeInBytes == int64(len(b)) && n.DeviceID == id {
			if n.Metadata["sha256"] != hexSHA(b) || n.Metadata["contentsha256"] != hexSHA(want) {
				t.Fatalf("blob %s: stored metadata %v, want sha256 %s and contentsha256 %s", name, n.Metadata, hexSHA(b), hexSHA(want))
			}
			return
		}
	}
	t.Fatalf("no notification for %s (%d bytes) in %+v", name, len(b), h.FileNotifications())
}

// TestUploadToHubsim: the upload flow against the real simulator's HTTPS
// endpoint (device certificate authentication, SAS, Blob REST, file
// notification) (REQ-LOG-001, PROTOCOL.md §3).
func TestUploadToHubsim(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	want := append(logText(50, 300<<10), noise(50, 100<<10)...)
	writeFile(t, dir, "carto.log", want)
	s, log := newShipper(t, hubsimConfig(t, h, "carto-0001", deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkHubsimBlob(t, h, "carto-0001", st, want)
}

// TestUploadToHubsimThroughAPartition: the chaos layer blackholes the
// device's site mid-upload; after the heal the upload continues from the
// last staged block (REQ-LOG-003).
func TestUploadToHubsimThroughAPartition(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	want := noise(51, 600<<10)
	writeFile(t, dir, "carto.log", want)
	network := chaos.NewNetwork(nil)
	var dialer net.Dialer
	cfg := hubsimConfig(t, h, "carto-0002", deviceLogs(dir))
	cfg.Dial = DialFunc(network.Dialer("site-01", dialer.DialContext))
	cfg.RequestTimeout, cfg.BytesPerSecond = time.Second, 256<<10
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	waitFor(t, 10*time.Second, "two blocks staged", func() bool {
		st := log.get(id)
		return st != nil && st["bytes"].(int64) >= 128<<10
	})
	network.Partition("site-01")
	waitFor(t, 10*time.Second, "the job to notice the partition", func() bool { return log.state(id) == StateRetrying })
	time.Sleep(time.Second)
	network.Heal("site-01")
	st := log.finished(t, id, 30*time.Second)
	checkHubsimBlob(t, h, "carto-0002", st, want)
	if r := st["resentBlocks"].(int); r > 2 {
		t.Errorf("resentBlocks = %d, want at most the blocks in flight", r)
	}
}

// TestUploadToHubsimAcrossAHubRestart: the hub crashes (connections reset,
// dials refused for a second) mid-upload and comes back; the upload
// continues from the last staged block (issue 6, resumable).
func TestUploadToHubsimAcrossAHubRestart(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	want := noise(52, 600<<10)
	writeFile(t, dir, "carto.log", want)
	cfg := hubsimConfig(t, h, "carto-0003", deviceLogs(dir))
	cfg.RequestTimeout, cfg.BytesPerSecond = 2*time.Second, 256<<10
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	waitFor(t, 10*time.Second, "two blocks staged", func() bool {
		st, _ := s.Status(id)
		return st["bytes"].(int64) >= 128<<10
	})
	if err := h.Restart(t.Context(), time.Second); err != nil {
		t.Fatal(err)
	}
	st := log.finished(t, id, 30*time.Second)
	checkHubsimBlob(t, h, "carto-0003", st, want)
	if r := st["resentBlocks"].(int); r > 2 {
		t.Errorf("resentBlocks = %d, want at most the blocks in flight", r)
	}
	t.Logf("history %v, %d blocks re-sent", log.history(id), st["resentBlocks"])
}

// TestUploadWaitsForTheHubItIsAssigned: a device provisioned through DPS
// does not know its hub when the shipper starts; a requested upload waits,
// retrying, until SetHub names the assigned hub and the device's id there,
// then completes to that hub.
func TestUploadWaitsForTheHubItIsAssigned(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := hubtest.NewHub(t, hubsim.Config{})
	dir := t.TempDir()
	want := logText(51, 100<<10)
	writeFile(t, dir, "carto.log", want)
	cfg := hubsimConfig(t, h, "registration-7", deviceLogs(dir))
	assignedID := "carto-0007"
	cfg.Certificate = hubtest.Device(t, h, assignedID)
	cfg.HostName, cfg.Address = "", ""
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	waitFor(t, 10*time.Second, "the job retrying for want of a hub", func() bool {
		st := log.get(id)
		return st != nil && st["state"] == StateRetrying
	})
	if n := len(h.FileNotifications()); n != 0 {
		t.Fatalf("%d notifications before the hub was known", n)
	}
	s.SetHub(assignedID, h.HostName(), h.HTTPSAddr())
	st := log.finished(t, id, 30*time.Second)
	checkHubsimBlob(t, h, assignedID, st, want)
}
