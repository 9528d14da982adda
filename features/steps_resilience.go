package features

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/devsim"
)

func (w *world) registerResilienceSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a hub and a fleet of (\d+) devices at (\d+) sites?$`, w.hubAndFleet)
	sc.Step(`^the fleet has delivered telemetry$`, w.fleetDelivered)
	sc.Step(`^site "([^"]*)" loses its network for (\d+) seconds$`, w.sitePartitionedFor)
	sc.Step(`^the fleet stops sampling$`, func() { w.fleet.SetProducing(false) })
	sc.Step(`^within (\d+) seconds every device is connected and has no message waiting$`, w.fleetDrained)
	sc.Step(`^every message the devices accepted was recorded by the hub$`, w.noMessageLost)
	sc.Step(`^every message the hub recorded was accepted by a device, and each repeat is counted as a duplicate$`, w.duplicatesExact)
	sc.Step(`^within (\d+) seconds every device is connected again after the outage$`, w.allReconnected)
	sc.Step(`^no more than (\d+) percent of the devices reconnected within any one second$`, w.reconnectsSpread)
}

// hubAndFleet starts a hub and a fleet sampling fast, with a short
// keep-alive (a dead link is noticed in about 3 s) and backoff from 1 s
// doubling to 8 s.
func (w *world) hubAndFleet(ctx context.Context, devices, sites int) error {
	if err := w.startHub(); err != nil {
		return err
	}
	w.net = chaos.NewNetwork(nil)
	f, err := devsim.New(devsim.Config{
		Hub: w.hub, Network: w.net, Devices: devices, Sites: sites,
		Stagger:           time.Second,
		TelemetryInterval: 200 * time.Millisecond,
		KeepAlive:         keepAlive,
		ConnectTimeout:    5 * time.Second,
		Backoff:           backoff.Policy{Base: time.Second, Cap: 8 * time.Second},
		Seed:              7,
		Logger:            w.log.With("subsystem", "devsim"),
	})
	if err != nil {
		return fmt.Errorf("build fleet: %w", err)
	}
	f.Start(context.Background())
	w.fleet = f
	return within(ctx, 2*connectWithin, func() error {
		if n := w.hub.Registry().ConnectedCount(); n != devices {
			return fmt.Errorf("%d of %d devices connected", n, devices)
		}
		return nil
	})
}

func (w *world) fleetDelivered(ctx context.Context) error {
	return within(ctx, connectWithin, func() error {
		for _, d := range w.fleet.Devices() {
			if d.Agent.Stats().Delivered == 0 {
				return fmt.Errorf("%s has delivered nothing", d.ID)
			}
		}
		return nil
	})
}

// sitePartitionedFor cuts the site off, waits, and heals it; the time the
// network came back is kept for the reconnect steps.
func (w *world) sitePartitionedFor(ctx context.Context, site string, secs int) error {
	w.cutOff = site
	w.net.Partition(site)
	if err := backoff.Sleep(ctx, seconds(secs)); err != nil {
		return err
	}
	w.net.Heal(site)
	w.cutOff = ""
	w.healedAt = time.Now()
	return nil
}

func (w *world) fleetDrained(ctx context.Context, secs int) error {
	return within(ctx, seconds(secs), func() error {
		for _, d := range w.fleet.Devices() {
			if st := d.Agent.Stats(); !st.Connected || st.Pending > 0 {
				return fmt.Errorf("%s: connected %v, %d messages waiting", d.ID, st.Connected, st.Pending)
			}
		}
		return nil
	})
}

func (w *world) noMessageLost() error {
	var lost []string
	for _, d := range w.fleet.Devices() {
		st := d.Agent.Stats()
		for seq := uint64(1); seq <= uint64(st.Accepted); seq++ {
			id := telemetry.MessageID(d.ID, d.Agent.Boot(), seq)
			if w.hub.Events().Seen(d.ID, id) == 0 {
				lost = append(lost, id)
			}
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("%d messages never reached the hub: %s", len(lost), strings.Join(lost[:min(5, len(lost))], ", "))
	}
	return nil
}

// duplicatesExact checks the hub's duplicate count against the ids the
// devices actually issued: no recorded id is unknown, and the duplicates
// are exactly the repeats.
func (w *world) duplicatesExact() error {
	var repeats int64
	var known int64
	for _, d := range w.fleet.Devices() {
		st := d.Agent.Stats()
		for seq := uint64(1); seq <= uint64(st.Accepted); seq++ {
			n := int64(w.hub.Events().Seen(d.ID, telemetry.MessageID(d.ID, d.Agent.Boot(), seq)))
			known += n
			repeats += max(0, n-1)
		}
	}
	stats := w.hub.Events().Stats()
	if stats.Received != known {
		return fmt.Errorf("hub recorded %d messages but only %d carry ids the devices issued", stats.Received, known)
	}
	if stats.Duplicates != repeats {
		return fmt.Errorf("hub counted %d duplicates, the ids show %d repeats", stats.Duplicates, repeats)
	}
	return nil
}

func (w *world) allReconnected(ctx context.Context, secs int) error {
	return within(ctx, seconds(secs), func() error {
		for _, d := range w.hub.Registry().List() {
			if !d.Connected || d.ConnectionStateUpdatedTime.Before(w.healedAt) {
				return fmt.Errorf("%s has not reconnected since the network came back", d.ID)
			}
		}
		return nil
	})
}

// reconnectsSpread buckets the reconnect times after the heal into
// one-second windows (sliding, at 100 ms steps) and checks the busiest.
func (w *world) reconnectsSpread(ctx context.Context, pct int) error {
	devs := w.hub.Registry().List()
	var times []time.Time
	for _, d := range devs {
		times = append(times, d.ConnectionStateUpdatedTime)
	}
	busiest := 0
	for _, start := range times {
		n := 0
		for _, t := range times {
			if !t.Before(start) && t.Before(start.Add(time.Second)) {
				n++
			}
		}
		busiest = max(busiest, n)
	}
	if busiest*100 > pct*len(devs) {
		return fmt.Errorf("%d of %d devices reconnected within one second", busiest, len(devs))
	}
	godog.Logf(ctx, "busiest second after the heal: %d of %d devices reconnected", busiest, len(devs))
	return nil
}
