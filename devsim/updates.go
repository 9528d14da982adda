package devsim

import (
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
)

// FleetUpdates turns on the deviceUpdate component (agent/update) on every
// device of a fleet. Each device gets A/B software slots under
// StoreDir/slots/<id> (factory version carto.Version), a download
// directory under StoreDir/updates/<id>, an HTTP client whose payload
// requests go through the device's site on the chaos network (a
// partitioned site downloads nothing), and a Journal of its update work.
type FleetUpdates struct {
	// Roots are the update root keys built into every agent. Required.
	Roots update.Roots
	// Download tunes retrieval; zero values take agent/update's defaults.
	Download update.DownloadConfig
}

// payloadHeaderTimeout bounds the wait for a payload response's headers
// (a partitioned site answers nothing); the downloader polices the body's
// rate itself.
const payloadHeaderTimeout = 10 * time.Second

// wireUpdates gives device d its slots, journal and update configuration.
func (f *Fleet) wireUpdates(cfg *agent.Config, d *Device, dial chaos.DialFunc) error {
	u := f.cfg.Updates
	slots, err := carto.OpenSlots(filepath.Join(f.cfg.StoreDir, "slots", d.ID), carto.Version)
	if err != nil {
		return fmt.Errorf("device %s slots: %w", d.ID, err)
	}
	d.CARTO.UseSlots(slots)
	work := carto.NewJournal(nil)
	tr := &http.Transport{
		DialContext:           dial,
		ResponseHeaderTimeout: payloadHeaderTimeout,
		DisableKeepAlives:     true, // nothing idles between downloads
	}
	cfg.Updates = &agent.UpdatesConfig{
		Roots:     u.Roots,
		Device:    carto.UpdateDevice,
		Installer: work.Installer(slots),
		Dir:       filepath.Join(f.cfg.StoreDir, "updates", d.ID),
		Client:    &http.Client{Transport: work.Transport(tr)},
		Download:  u.Download,
	}
	d.Slots, d.Work = slots, work
	return nil
}

// scaledClock returns a clock that runs scale times as fast as real time
// from origin; a scale of zero or 1 is the real clock.
func scaledClock(origin time.Time, scale float64) func() time.Time {
	if scale == 0 || scale == 1 {
		return time.Now
	}
	return func() time.Time {
		return origin.Add(time.Duration(float64(time.Since(origin)) * scale))
	}
}
