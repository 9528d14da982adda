package agent

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// UpdatesConfig turns on the deviceUpdate component (Azure Device Update's
// twin contract): signed, monotonic, guarded A/B updates (agent/update).
type UpdatesConfig struct {
	// Roots are the trusted update root keys (built in, or the latest
	// rotated set). Required.
	Roots update.Roots
	// Device is what every manifest must name. Required.
	Device update.Device
	// Installer is the device's A/B software slots. Required.
	Installer update.Installer
	// Dir holds downloads while a deployment runs. Required.
	Dir string
	// Client fetches payloads. Nil: a default client.
	Client *http.Client
	// Download tunes retrieval (minimum rate, checkpoints, retries).
	Download update.DownloadConfig
}

// openUpdates builds the update manager on the agent's gate and store.
func (a *Agent) openUpdates() error {
	u := a.cfg.Updates
	log := a.log.With("subsystem", "update")
	v, err := update.NewVerifier(update.Config{Roots: u.Roots, Device: u.Device, Logger: log})
	if err != nil {
		return fmt.Errorf("agent updates: %w", err)
	}
	recs := update.NewRecordStore(a.store)
	a.updates, err = update.NewManager(update.ManagerConfig{
		Verifier: v, Installer: u.Installer, Gate: a.gate, State: recs, Progress: recs,
		Dir: u.Dir, Client: u.Client, Download: u.Download,
		Device: update.DeviceProperties{
			Manufacturer: u.Device.Manufacturer, Model: u.Device.Model, HardwareID: u.Device.HardwareID,
			ContractModelID: update.ContractModel, ADUVersion: "cloudpillar/" + Version,
		},
		Report: func(p map[string]any) { a.queueReport(p); a.signal() },
		Now:    a.cfg.Now,
		Logger: log,
	})
	if err != nil {
		return fmt.Errorf("agent updates: %w", err)
	}
	return nil
}

// runUpdates runs the update manager until ctx ends.
func (a *Agent) runUpdates(ctx context.Context) {
	if err := a.updates.Run(ctx); err != nil {
		a.log.Error("update manager stopped: its state cannot be saved", "err", err)
	}
}

// applyUpdateDesired hands the desired deviceUpdate component to the
// update manager.
func (a *Agent) applyUpdateDesired(doc map[string]any) {
	if a.updates == nil {
		return
	}
	if c, ok := doc[update.ComponentName].(map[string]any); ok {
		if p := a.updates.HandleDesired(c); p != nil {
			a.queueReport(p)
		}
	}
}
