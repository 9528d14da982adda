package features

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/devsim"
	"github.com/cloudpillar/cloudpillar/hubsim"
)

// Fleet settings for the scenarios: fast telemetry and a short keep-alive
// so a lost connection is noticed in about three seconds.
const (
	telemetryInterval = time.Second
	keepAlive         = 2 * time.Second
	connectWithin     = 10 * time.Second
)

func (w *world) registerFleetSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a hub and a connected device "([^"]*)"$`, w.hubAndConnectedDevice)
	sc.Step(`^the device's hospital site loses its network connection$`, w.siteLosesNetwork)
	sc.Step(`^the hospital site's network connection is restored$`, w.siteNetworkRestored)
	sc.Step(`^within (\d+) seconds both the device and the hub see the device as offline$`, w.bothSeeOffline)
	sc.Step(`^within (\d+) seconds the device is connected again$`, w.connectedAgain)
}

// hubAndConnectedDevice starts a hub and a one-device fleet and waits until
// the device's agent and the hub both see the connection.
func (w *world) hubAndConnectedDevice(ctx context.Context, id string) error {
	if err := w.startHub(); err != nil {
		return err
	}
	if err := w.startFleet(1); err != nil {
		return err
	}
	d, err := w.device(id)
	if err != nil {
		return err
	}
	return within(ctx, connectWithin, func() error { return w.online(d) })
}

func (w *world) startHub() error {
	h, err := hubsim.New(hubsim.Config{KeepEvents: true, Logger: w.log.With("subsystem", "hub")})
	if err != nil {
		return err
	}
	if err := h.Start(); err != nil {
		_ = h.Close(context.Background())
		return fmt.Errorf("start hub: %w", err)
	}
	w.hub = h
	return nil
}

func (w *world) startFleet(n int) error {
	w.net = chaos.NewNetwork(nil)
	var gc guard.Config
	if w.timeScale > 0 {
		gc.QuietPeriod = guard.MinQuietPeriod
	}
	f, err := devsim.New(devsim.Config{
		Hub:               w.hub,
		Network:           w.net,
		Devices:           n,
		Sites:             1,
		TelemetryInterval: telemetryInterval,
		KeepAlive:         keepAlive,
		LogBytes:          w.logBytes,
		Guard:             gc,
		TimeScale:         w.timeScale,
		Backoff:           backoff.Policy{Base: 100 * time.Millisecond, Cap: time.Second},
		Seed:              1,
		Logger:            w.log.With("subsystem", "devsim"),
	})
	if err != nil {
		return fmt.Errorf("build fleet: %w", err)
	}
	f.Start(context.Background())
	w.fleet = f
	return nil
}

// online reports nil when the device's agent holds a session and the hub's
// registry shows it connected.
func (w *world) online(d *devsim.Device) error {
	if !d.Agent.Stats().Connected {
		return fmt.Errorf("agent of %s is not connected", d.ID)
	}
	return w.hubSees(d.ID, true)
}

// hubSees reports nil when the hub's registry shows id as connected (or not).
func (w *world) hubSees(id string, connected bool) error {
	reg, err := w.hub.Registry().Get(id)
	if err != nil {
		return err
	}
	if reg.Connected != connected {
		return fmt.Errorf("hub registry shows %s connected=%v, want %v", id, reg.Connected, connected)
	}
	return nil
}

func (w *world) siteLosesNetwork() error {
	d, err := w.only()
	if err != nil {
		return err
	}
	w.net.Partition(d.Site)
	w.cutOff = d.Site
	return nil
}

func (w *world) siteNetworkRestored() error {
	if w.cutOff == "" {
		return errors.New("no site was cut off")
	}
	w.net.Heal(w.cutOff)
	w.cutOff = ""
	return nil
}

func (w *world) bothSeeOffline(ctx context.Context, secs int) error {
	d, err := w.only()
	if err != nil {
		return err
	}
	return within(ctx, seconds(secs), func() error {
		if d.Agent.Stats().Connected {
			return fmt.Errorf("agent of %s still holds its session", d.ID)
		}
		return w.hubSees(d.ID, false)
	})
}

func (w *world) connectedAgain(ctx context.Context, secs int) error {
	d, err := w.only()
	if err != nil {
		return err
	}
	return within(ctx, seconds(secs), func() error {
		if n := d.Agent.Stats().Connects; n < 2 {
			return fmt.Errorf("agent of %s connected %d times, want a reconnect", d.ID, n)
		}
		return w.online(d)
	})
}
