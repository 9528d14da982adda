package agent

import (
	"context"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
)

// produce samples telemetry every interval into the queue, connected or
// not. While a patient case is live (or its state is unknown, which counts
// as live) it sends only a heartbeat, at most every HeartbeatInterval.
func (a *Agent) produce(ctx context.Context) {
	var lastSent time.Time
	for {
		t := time.NewTimer(a.TelemetryInterval())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if a.tick(ctx, lastSent) {
			lastSent = a.cfg.Now()
		}
	}
}

// tick takes one sample if production is on and the case state allows it,
// and reports whether it did.
func (a *Agent) tick(ctx context.Context, lastSent time.Time) bool {
	a.produceMu.Lock()
	defer a.produceMu.Unlock()
	if !a.producing.Load() {
		return false
	}
	now := a.cfg.Now()
	state := a.cfg.Device.CaseState()
	live := state != device.CaseIdle
	if live && now.Sub(lastSent) < a.cfg.HeartbeatInterval {
		return false
	}
	a.sample(ctx, now, state, live)
	return true
}

// sample takes one reading. With batching, full readings collect in
// memory until BatchSamples of them go out as one message; a heartbeat
// first sends what has collected.
func (a *Agent) sample(ctx context.Context, now time.Time, state device.CaseState, heartbeat bool) {
	if heartbeat {
		a.flushBatch(now)
		a.put(now, telemetry.Sample{Time: now.UTC(), CaseState: state.String(), Heartbeat: true})
		return
	}
	r := telemetry.Reading{Time: now.UTC(), CaseState: state.String(), Metrics: a.metrics(ctx)}
	if a.cfg.BatchSamples <= 1 {
		a.put(now, telemetry.Sample{Time: r.Time, CaseState: r.CaseState, Metrics: r.Metrics})
		return
	}
	a.batch = append(a.batch, r)
	if len(a.batch) >= a.cfg.BatchSamples {
		a.flushBatch(now)
	}
}

// flushBatch sends the collected readings as one message.
func (a *Agent) flushBatch(now time.Time) {
	if len(a.batch) == 0 {
		return
	}
	last := a.batch[len(a.batch)-1]
	a.put(now, telemetry.Sample{Time: last.Time, CaseState: last.CaseState, Batch: a.batch})
	a.batch = nil // a refused batch is dropped with the count in Refused, like a single sample
}

// put stores one message: accepted once the outbox has it.
func (a *Agent) put(now time.Time, s telemetry.Sample) {
	seq := a.seq + 1
	id := telemetry.MessageID(a.cfg.Hub.DeviceID, a.cfg.Boot, seq)
	s.DeviceID, s.Seq = a.cfg.Hub.DeviceID, seq
	msg, err := telemetry.Build(id, s)
	if err != nil {
		a.log.Error("telemetry sample dropped", "err", err)
		return
	}
	_, err = a.store.Put(outbox.Item{Class: outbox.ClassTelemetry, ID: msg.ID, Payload: msg.Payload, Properties: msg.Properties, Created: now})
	if err != nil {
		a.refuse(err)
		return
	}
	if a.refusedStreak > 0 {
		a.refusedStreak = 0
		a.queueReport(map[string]any{"store": map[string]any{"healthy": true, "refused": a.refused.Load()}})
		a.log.Info("store accepts telemetry again", "refused", a.refused.Load())
	}
	a.seq = seq
	a.accepted.Store(int64(seq))
	a.signal()
}

// metrics merges the device's metrics with the host's (when enabled). A
// host reading that partly fails still contributes what it gathered.
func (a *Agent) metrics(ctx context.Context) map[string]any {
	m := a.cfg.Device.Metrics()
	if a.host == nil {
		return m
	}
	host, err := a.host.Sample(ctx)
	if err != nil {
		a.log.Debug("host metrics incomplete", "err", err)
	}
	if m == nil {
		m = make(map[string]any, len(host))
	}
	for k, v := range host {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return m
}

// refuse records a sample the store could not take (a full disk, a broken
// file): the sample is not accepted, and at the start of each failure
// streak the agent logs it and reports the store unhealthy in the twin
// (kept in memory if the store cannot even take that), instead of
// pretending or corrupting anything.
func (a *Agent) refuse(err error) {
	n := a.refused.Add(1)
	a.refusedStreak++
	if a.refusedStreak > 1 {
		return
	}
	a.log.Error("telemetry refused: the store cannot take it", "err", err, "refused", n)
	a.queueReport(map[string]any{"store": map[string]any{"healthy": false, "error": err.Error(), "refused": n}})
	a.signal()
}
