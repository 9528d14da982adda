package scenarios

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/devsim"
)

// defaultLogBytes is each device's CARTO log when a scenario requests
// log uploads and says no size.
const defaultLogBytes = 64 << 10

// logJob is one upload request the run made.
type logJob struct {
	device *devsim.Device
	id     string
}

func (r *run) logBytes() int {
	for _, e := range r.sc.Events {
		if e.Logs != nil {
			return max(r.sc.LogBytes, defaultLogBytes)
		}
	}
	return 0
}

// requestLogs asks each device's agent for an upload of its device log,
// as the uploadLogs direct method does; devices that are offline or in a
// case accept the job and run it when they can.
func (r *run) requestLogs(devs []*devsim.Device) {
	for _, d := range devs {
		id := d.Agent.Logs().Request(time.Time{}, time.Time{}, []string{devsim.LogSource})
		r.logJobs = append(r.logJobs, logJob{device: d, id: id})
	}
	r.net.Timeline().Record("logs", "", fmt.Sprintf("log upload requested from %d devices", len(devs)))
}

// logsSettled reports whether every requested upload has ended.
func (r *run) logsSettled() bool {
	for _, j := range r.logJobs {
		st, ok := j.device.Agent.Logs().Status(j.id)
		if !ok || (st["state"] != "done" && st["state"] != "failed") {
			return false
		}
	}
	return true
}

// judgeLogs counts delivered uploads and checks every blob the devices
// say they uploaded against what the hub stores: same size, same SHA-256,
// and that SHA-256 in the blob's sha256 metadata.
func (r *run) judgeLogs() {
	l := &r.sum.Logs
	l.Requested = int64(len(r.logJobs))
	stored := map[string]map[string]string{} // blob name -> its metadata, as the hub recorded it when notified
	for _, n := range r.hub.FileNotifications() {
		stored[n.BlobName] = n.Metadata
	}
	for _, j := range r.logJobs {
		st, _ := j.device.Agent.Logs().Status(j.id)
		if st["state"] != "done" {
			continue
		}
		l.Delivered++
		blobs, _ := st["blobs"].(map[string]any)
		for _, b := range blobs {
			f, _ := b.(map[string]any)
			n, ok := r.verifyBlob(j.device.ID, f, stored)
			if !ok {
				l.IntegrityFailures++
			}
			l.Bytes += n
		}
	}
	if l.Delivered != l.Requested {
		r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("logs delivered: %d of %d uploads completed", l.Delivered, l.Requested))
	}
	if l.IntegrityFailures != 0 {
		r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("log integrity: %d blobs differ from what the device uploaded or from their sha256 metadata", l.IntegrityFailures))
	}
}

// verifyBlob reads one uploaded blob from the hub and compares its size
// and SHA-256 with the device's report, and requires the sha256 metadata
// stored with the blob to be that same SHA-256.
func (r *run) verifyBlob(device string, f map[string]any, stored map[string]map[string]string) (int64, bool) {
	name, _ := f["name"].(string)
	want, _ := f["sha256"].(string)
	data, err := r.hub.ReadBlob(name)
	if err != nil {
		name = device + "/" + name
		if data, err = r.hub.ReadBlob(name); err != nil {
			return 0, false
		}
	}
	sum := sha256.Sum256(data)
	size, _ := f["bytes"].(int64)
	return int64(len(data)), hex.EncodeToString(sum[:]) == want && stored[name]["sha256"] == want && int64(len(data)) == size
}

// restartHub crashes the hub, keeps it down for down, and serves again;
// devices reconnect by themselves.
func (r *run) restartHub(ctx context.Context, down time.Duration) {
	r.net.Timeline().Record("hub-restart", "", fmt.Sprintf("hub down for %v", down))
	r.bg.Go(func() {
		if err := r.hub.Restart(ctx, down); err != nil {
			r.opt.Logger.Error("hub restart failed", "err", err)
		}
	})
}
