package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/agent/twin"
)

// Stats are the agent's counters.
type Stats struct {
	Accepted  int64 // telemetry messages created (ids 1..Accepted of this boot)
	Delivered int64 // messages the hub acknowledged
	Pending   int   // messages waiting for an acknowledgement
	Evicted   int64 // messages dropped because the queue was full
	Connects  int64 // successful connections
	Connected bool
}

// Agent is one device's agent.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	queue *telemetry.Queue
	ids   *telemetry.IDs
	twin  *twin.Reconciler

	producing atomic.Bool
	accepted  atomic.Int64
	delivered atomic.Int64
	connects  atomic.Int64
	connected atomic.Bool
	interval  atomic.Int64 // current telemetry interval, ns

	desiredMu sync.Mutex
	desired   [][]byte      // guarded by desiredMu: patches not yet applied
	desiredCh chan struct{} // signalled when desired grows

	reportMu sync.Mutex
	report   map[string]any // guarded by reportMu: reported patch not yet acknowledged (coalesced)
}

// New builds an agent; nothing runs until Run.
func New(cfg Config) (*Agent, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:       cfg,
		log:       cfg.Logger.With("device", cfg.Hub.DeviceID),
		queue:     telemetry.NewQueue(cfg.QueueLimit),
		ids:       telemetry.NewIDs(cfg.Hub.DeviceID, cfg.Boot),
		twin:      twin.New(twin.Settings{TelemetryInterval: cfg.TelemetryInterval}),
		desiredCh: make(chan struct{}, 1),
		report:    map[string]any{},
	}
	a.producing.Store(true)
	a.interval.Store(int64(cfg.TelemetryInterval))
	return a, nil
}

// Run runs the agent until ctx ends. It returns nil on cancellation.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { a.produce(ctx) })
	a.connectLoop(ctx)
	wg.Wait()
	return nil
}

// SetProducing starts or stops sampling telemetry (the harness stops it
// before draining a run).
func (a *Agent) SetProducing(on bool) { a.producing.Store(on) }

// Stats returns the counters.
func (a *Agent) Stats() Stats {
	return Stats{
		Accepted:  a.accepted.Load(),
		Delivered: a.delivered.Load(),
		Pending:   a.queue.Len(),
		Evicted:   a.queue.Evicted(),
		Connects:  a.connects.Load(),
		Connected: a.connected.Load(),
	}
}

// Boot is this run's boot number in message ids.
func (a *Agent) Boot() uint64 { return a.cfg.Boot }

// TelemetryInterval is the sampling period in force.
func (a *Agent) TelemetryInterval() time.Duration { return time.Duration(a.interval.Load()) }

func (a *Agent) produce(ctx context.Context) {
	for {
		t := time.NewTimer(a.TelemetryInterval())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if a.producing.Load() {
			a.sample()
		}
	}
}

func (a *Agent) sample() {
	id, seq := a.ids.Next()
	msg, err := telemetry.Build(id, telemetry.Sample{
		DeviceID:  a.cfg.Hub.DeviceID,
		Seq:       seq,
		Time:      a.cfg.Now().UTC(),
		CaseState: a.cfg.Device.CaseState().String(),
		Metrics:   a.cfg.Device.Metrics(),
	})
	if err != nil {
		a.log.Error("telemetry sample dropped", "err", err)
		return
	}
	a.accepted.Add(1)
	a.queue.Push(msg)
}

func (a *Agent) connectLoop(ctx context.Context) {
	bo := backoff.New(a.cfg.Backoff, a.cfg.Rand)
	for ctx.Err() == nil {
		s, err := hub.Connect(ctx, a.cfg.Hub, a.onDesired)
		if err != nil {
			d := bo.Next()
			a.log.Warn("connect failed", "err", err, "retryIn", d.Round(time.Millisecond).String())
			sleep(ctx, d)
			continue
		}
		a.connects.Add(1)
		a.connected.Store(true)
		a.log.Info("connected", "connects", a.connects.Load())
		err = a.serve(ctx, s, bo)
		a.connected.Store(false)
		s.Close()
		if ctx.Err() != nil {
			return
		}
		d := bo.Next()
		a.log.Warn("disconnected", "err", err, "retryIn", d.Round(time.Millisecond).String())
		sleep(ctx, d)
	}
}

// serve runs one connection: reconcile the twin, then drain the queue and
// apply desired patches until the connection ends.
func (a *Agent) serve(ctx context.Context, s *hub.Session, bo *backoff.Backoff) error {
	if err := a.syncTwin(ctx, s); err != nil {
		return err
	}
	bo.Reset()
	for {
		if err := a.applyDesired(); err != nil {
			return err
		}
		if err := a.flushReport(ctx, s); err != nil {
			return err
		}
		if err := a.drain(ctx, s); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.Done():
			return s.Err()
		case <-a.queue.Ready():
		case <-a.desiredCh:
		}
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

func (a *Agent) onDesired(patch []byte) {
	a.desiredMu.Lock()
	a.desired = append(a.desired, patch)
	a.desiredMu.Unlock()
	select {
	case a.desiredCh <- struct{}{}:
	default:
	}
}

func (a *Agent) applyDesired() error {
	a.desiredMu.Lock()
	pending := a.desired
	a.desired = nil
	a.desiredMu.Unlock()
	for _, raw := range pending {
		doc, err := decodeObject(raw)
		if err != nil {
			a.log.Warn("desired patch ignored", "err", err)
			continue
		}
		a.applyDoc(doc)
	}
	return nil
}

func (a *Agent) applyDoc(doc map[string]any) {
	patch := a.twin.Apply(doc)
	if patch == nil {
		return
	}
	a.interval.Store(int64(a.twin.Settings().TelemetryInterval))
	a.reportMu.Lock()
	for k, v := range patch {
		a.report[k] = v
	}
	a.reportMu.Unlock()
	a.log.Info("desired properties applied", "version", a.twin.Version(), "telemetryInterval", a.TelemetryInterval().String())
}

// flushReport sends the coalesced reported patch; on failure it stays
// pending for the next connection.
func (a *Agent) flushReport(ctx context.Context, s *hub.Session) error {
	a.reportMu.Lock()
	if len(a.report) == 0 {
		a.reportMu.Unlock()
		return nil
	}
	patch := a.report
	a.report = map[string]any{}
	a.reportMu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	if _, err := s.Report(rctx, patch); err != nil {
		a.reportMu.Lock()
		for k, v := range patch {
			if _, newer := a.report[k]; !newer {
				a.report[k] = v
			}
		}
		a.reportMu.Unlock()
		return err
	}
	return nil
}

// drain sends queued telemetry in order until the queue is empty.
func (a *Agent) drain(ctx context.Context, s *hub.Session) error {
	for {
		msg, ok := a.queue.Peek()
		if !ok {
			return nil
		}
		sctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
		err := s.SendEvent(sctx, msg.ID, msg.Payload, msg.Properties)
		cancel()
		if err != nil {
			return fmt.Errorf("send %s: %w", msg.ID, err)
		}
		a.queue.Ack(msg.ID)
		a.delivered.Add(1)
		a.desiredMu.Lock()
		more := len(a.desired) > 0
		a.desiredMu.Unlock()
		if more { // a desired change goes before the backlog
			return nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
