package features

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// registerLogScheduleSteps registers the steps of the scheduled upload:
// the device's own agent (devsim) ships its CARTO log when the twin's
// schedule says so, and the check reads the job from the hub's twin.
func (w *world) registerLogScheduleSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a hub and a connected device "([^"]*)" that keeps a (\d+) MB CARTO log$`, w.deviceWithLog)
	sc.Step(`^within (\d+) seconds the device reports a scheduled log upload done$`, w.scheduledUploadDone)
	sc.Step(`^the hub holds every blob of the scheduled upload with the SHA-256 the device reported$`, w.scheduledBlobsHeld)
}

// deviceWithLog starts the fleet's one device with a CARTO log and its
// agents' clock at the log scenarios' guard scale, so the quiet period
// the guard keeps after the agent starts (a case may just have ended)
// passes in two seconds.
func (w *world) deviceWithLog(ctx context.Context, id string, mb int) error {
	w.logBytes, w.timeScale = mb*1_000_000, guardScale
	return w.hubAndConnectedDevice(ctx, id)
}

// scheduledJob finds, in the device's reported logUploads at the hub, a
// job the schedule started, and returns its id and status.
func (w *world) scheduledJob() (string, map[string]any, error) {
	d, err := w.only()
	if err != nil {
		return "", nil, err
	}
	tw, err := w.hub.Twin(d.ID)
	if err != nil {
		return "", nil, err
	}
	jobs, _ := tw.Reported.Props[logship.ReportedUploads].(map[string]any)
	for id, v := range jobs {
		if st, _ := v.(map[string]any); st != nil && st["reason"] == "schedule" {
			return id, st, nil
		}
	}
	return "", nil, fmt.Errorf("the twin of %s reports no scheduled upload among %d jobs", d.ID, len(jobs))
}

func (w *world) scheduledUploadDone(ctx context.Context, secs int) error {
	return within(ctx, seconds(secs), func() error {
		id, st, err := w.scheduledJob()
		if err == nil && st["state"] != logship.StateDone {
			err = fmt.Errorf("scheduled upload %s is %v (%v %v)", id, st["state"], st["detail"], st["error"])
		}
		return err
	})
}

// scheduledBlobsHeld reads each blob the scheduled job reported from the
// hub's blob store and checks its SHA-256 against the reported one.
func (w *world) scheduledBlobsHeld(ctx context.Context) error {
	id, st, err := w.scheduledJob()
	if err != nil {
		return err
	}
	d, _ := w.only()
	blobs, _ := st["blobs"].(map[string]any)
	if len(blobs) == 0 {
		return fmt.Errorf("scheduled upload %s reports no blob", id)
	}
	for i := 1; i <= len(blobs); i++ {
		f, _ := blobs[strconv.Itoa(i)].(map[string]any)
		name, _ := f["name"].(string)
		b, err := w.hub.ReadBlob(d.ID + "/" + name)
		if err != nil {
			return fmt.Errorf("scheduled upload %s, file %d: %w", id, i, err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f["sha256"] {
			return fmt.Errorf("blob %s has SHA-256 %x, the device reported %v", name, sum, f["sha256"])
		}
		godog.Logf(ctx, "scheduled upload %s: blob %s, %d bytes, SHA-256 verified", id, name, len(b))
	}
	return nil
}
