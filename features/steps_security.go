package features

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// impostorTimeout bounds the impostor's whole connection attempt; the hub
// must refuse well within it rather than let it hang.
const impostorTimeout = 5 * time.Second

// steadyFor is how long "stays connected" is watched.
const steadyFor = time.Second

func (w *world) registerSecuritySteps(sc *godog.ScenarioContext) {
	sc.Step(`^the hub also knows device "([^"]*)", which is not connected$`, w.alsoKnows)
	sc.Step(`^an impostor connects as "([^"]*)" with a certificate from an unknown CA$`, w.impostorConnects)
	sc.Step(`^the hub refuses the impostor$`, w.impostorRefused)
	sc.Step(`^the hub shows device "([^"]*)" as not connected$`, w.hubShowsOffline)
	sc.Step(`^device "([^"]*)" stays connected without reconnecting$`, w.staysConnected)
	sc.Step(`^within (\d+) seconds the hub records new telemetry from "([^"]*)"$`, w.newTelemetry)
}

func (w *world) alsoKnows(id string) error {
	if err := w.hub.CreateDevice(id); err != nil {
		return fmt.Errorf("register %s: %w", id, err)
	}
	return w.hubSees(id, false)
}

// impostorConnects dials the hub as id with a certificate for id from a CA
// the hub does not trust. The impostor itself trusts the hub, so only the
// hub can refuse it.
func (w *world) impostorConnects(ctx context.Context, id string) error {
	foreign, err := testpki.NewCA("Unknown CA")
	if err != nil {
		return err
	}
	cert, err := foreign.IssueDeviceTLS(id)
	if err != nil {
		return err
	}
	w.connectsBefore = map[string]int64{}
	for _, d := range w.fleet.Devices() {
		w.connectsBefore[d.ID] = d.Agent.Stats().Connects
	}
	cctx, cancel := context.WithTimeout(ctx, impostorTimeout)
	defer cancel()
	s, err := hub.Connect(cctx, hub.Config{
		DeviceID:       id,
		HostName:       w.hub.HostName(),
		Address:        w.hub.MQTTAddr(),
		RootCAs:        w.hub.CA().Pool(),
		Certificate:    cert,
		KeepAlive:      keepAlive,
		ConnectTimeout: impostorTimeout,
	}, nil)
	if err == nil {
		s.Close()
		err = errImpostorAdmitted
	}
	w.impostorErr = err
	return nil
}

var errImpostorAdmitted = errors.New("the hub admitted the impostor")

// impostorRefused requires an active refusal: an error that is not the
// impostor's own timeout.
func (w *world) impostorRefused() error {
	switch err := w.impostorErr; {
	case err == nil:
		return errors.New("no impostor has tried to connect")
	case errors.Is(err, errImpostorAdmitted):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the hub did not answer the impostor within %v: %w", impostorTimeout, err)
	}
	return nil
}

func (w *world) hubShowsOffline(id string) error { return w.hubSees(id, false) }

// staysConnected watches the device for steadyFor: still connected, with
// no connection made since the impostor tried.
func (w *world) staysConnected(ctx context.Context, id string) error {
	d, err := w.device(id)
	if err != nil {
		return err
	}
	if w.connectsBefore == nil {
		return errors.New("no impostor has tried to connect")
	}
	return throughout(ctx, steadyFor, func() error {
		if n, before := d.Agent.Stats().Connects, w.connectsBefore[id]; n != before {
			return fmt.Errorf("agent of %s has connected %d times, %d before the impostor tried", id, n, before)
		}
		return w.online(d)
	})
}

func (w *world) newTelemetry(ctx context.Context, secs int, id string) error {
	mark := w.hub.Events().DeviceCount(id)
	return within(ctx, seconds(secs), func() error {
		if n := w.hub.Events().DeviceCount(id); n <= mark {
			return fmt.Errorf("hub has recorded %d messages from %s, no new one", n, id)
		}
		return nil
	})
}
