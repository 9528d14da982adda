package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
)

// connectLoop owns the hub connection: dial, serve, and after a failure
// wait a jittered backoff before dialling again (DESIGN.md decision 14).
func (a *Agent) connectLoop(ctx context.Context) {
	bo := backoff.New(a.cfg.Backoff, a.cfg.Rand)
	for ctx.Err() == nil {
		hc, err := a.hubConfig(ctx)
		var s *hub.Session
		if err == nil {
			s, err = hub.Connect(ctx, hc, a.onDesired)
			a.noteConnect(err)
		}
		if err == nil {
			err = a.serve(ctx, s, bo)
			a.connected.Store(false)
			s.Close()
		}
		if ctx.Err() != nil {
			return
		}
		d := retryDelay(bo, err, a.cfg)
		a.log.Warn("hub connection ended", "err", err, "retryIn", d.Round(time.Millisecond).String())
		backoff.Sleep(ctx, d) // ctx ending is seen by the loop
	}
}

// ReprovisionAfter is how many consecutive failed connects make an agent
// with a DPS identity provision again (the hub may have been reassigned),
// as Microsoft's guidance for DPS devices says.
const ReprovisionAfter = 10

// noteConnect tracks failed connects: a refused identity, or too many
// failures in a row, sends an agent with a DPS identity back to DPS.
func (a *Agent) noteConnect(err error) {
	if err == nil {
		a.dialFailures = 0
		return
	}
	a.dialFailures++
	if a.ids == nil {
		return
	}
	if errors.Is(err, hub.ErrUnauthorized) || a.dialFailures >= ReprovisionAfter {
		a.reprovision = true // the hub no longer accepts this identity, or is gone
		a.dialFailures = 0
	}
}

// retryDelay is the wait before the next dial: full-jitter backoff, raised
// to a floor when the hub throttled the device or refused its identity, so
// a refused or throttled fleet never retries in a tight loop.
func retryDelay(bo *backoff.Backoff, err error, cfg Config) time.Duration {
	d := bo.Next()
	switch {
	case errors.Is(err, hub.ErrThrottled):
		return cfg.ThrottleFloor + d // the jitter still spreads the fleet
	case errors.Is(err, hub.ErrUnauthorized):
		return cfg.AuthRetryFloor + d
	}
	return d
}

// errRenewal ends a session so the identity can be renewed.
var errRenewal = errors.New("identity due for renewal")

// serve runs one connection: reconcile the twin, then drain the queue and
// apply desired patches until the connection ends.
func (a *Agent) serve(ctx context.Context, s *hub.Session, bo *backoff.Backoff) error {
	if err := a.registerMethods(ctx, s); err != nil {
		return err
	}
	if err := a.syncTwin(ctx, s); err != nil {
		return err
	}
	// Connected means ready: subscribed to methods and desired patches,
	// and the twin reconciled.
	a.connects.Add(1)
	a.connected.Store(true)
	a.log.Info("connected", "connects", a.connects.Load())
	a.queueReport(a.reportedProperties())
	if a.updates != nil {
		a.queueReport(a.updates.Reported())
	}
	bo.Reset()
	for {
		a.applyDesired()
		if err := a.flushReport(ctx, s); err != nil {
			return err
		}
		if err := a.drain(ctx, s); err != nil {
			return err
		}
		renew, stop := a.renewalTimer()
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-s.Done():
			stop()
			return s.Err()
		case <-renew:
			if a.renewalWaits() {
				break // a case went live since the timer was armed
			}
			return errRenewal // reconnect: hubConfig renews first
		case <-a.ready:
		case <-a.desiredCh:
		}
		stop()
	}
}

// syncTwin GETs the full twin after a (re)connect and applies any desired
// change whose $version moved while the agent was offline.
func (a *Agent) syncTwin(ctx context.Context, s *hub.Session) error {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	desired, _, err := s.Twin(rctx)
	if err != nil {
		return err
	}
	a.applyDoc(desired)
	return nil
}

// drainBatch is how many stored items one drain step reads.
const drainBatch = 32

// drain sends stored alerts and telemetry in order until the store is
// empty, deleting each only after the hub's PUBACK; it returns early when a
// desired change is waiting (it goes first).
func (a *Agent) drain(ctx context.Context, s *hub.Session) error {
	for {
		items, err := a.store.Next(drainBatch)
		if err != nil {
			return fmt.Errorf("read store: %w", err)
		}
		if len(items) == 0 {
			return nil
		}
		for _, it := range items {
			if err := a.send(ctx, s, it); err != nil {
				return err
			}
			if a.desiredWaiting() {
				return nil
			}
		}
	}
}

func (a *Agent) send(ctx context.Context, s *hub.Session, it outbox.Item) error {
	sctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	err := s.SendEvent(sctx, it.ID, it.Payload, it.Properties)
	cancel()
	if err != nil {
		return fmt.Errorf("send %s: %w", it.ID, err)
	}
	if err := a.store.Ack(it.Class, it.Seq); err != nil {
		// Delivered but not deleted: it will be sent again, and the hub
		// counts the repeat as a duplicate by its id.
		a.log.Error("acknowledged message not removed from the store", "id", it.ID, "err", err)
	}
	a.delivered.Add(1)
	a.lastAck.Store(a.cfg.Now().UnixNano())
	return nil
}
