package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/logship"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/agent/twin"
	"github.com/cloudpillar/cloudpillar/agent/update"
)

// Version is the agent's version, reported in the twin. Release builds set
// it with -ldflags "-X github.com/cloudpillar/cloudpillar/agent.Version=...".
var Version = "0.1.0-dev"

// Stats are the agent's counters.
type Stats struct {
	Accepted    int64 // telemetry messages created (ids 1..Accepted of this boot)
	Delivered   int64 // messages the hub acknowledged
	Pending     int   // messages (telemetry and alerts) waiting for an acknowledgement
	Evicted     int64 // messages dropped because the store was full (persisted)
	Refused     int64 // samples not accepted because the store could not take them
	Connects    int64 // successful connections
	Provisioned int64 // successful DPS registrations (first boot, renewals, re-provisioning)
	Connected   bool
	// LastDelivered is when the hub last acknowledged a message (zero: never).
	LastDelivered time.Time
}

// Agent is one device's agent.
type Agent struct {
	cfg           Config
	log           *slog.Logger
	store         *outbox.Store
	release       func() error           // closes the store
	twin          *twin.Reconciler       // owned by the connection loop goroutine
	host          *telemetry.HostSampler // nil unless Config.HostMetrics
	seq           uint64                 // last telemetry seq accepted this boot; owned by the producer
	refusedStreak int                    // consecutive refused samples; owned by the producer
	batch         []telemetry.Reading    // readings not yet sent (BatchSamples); guarded by produceMu
	ready         chan struct{}          // signalled when the store has something to send
	gate          *guard.Gate            // the patient-first floor
	audit         *guard.AuditLog        // nil unless Config.AuditLogPath
	updates       *update.Manager        // nil unless Config.Updates
	logs          *logship.Shipper       // nil unless Config.Logs has sources
	ids           *identity.Store        // nil unless Config.Identity
	reprovision   bool                   // the hub refused the identity; owned by the connection loop
	leaf          *x509.Certificate      // the operational certificate in use; owned by the connection loop
	notAfter      atomic.Int64           // leaf's NotAfter (Unix ns) for IdentityExpires; 0: none yet
	renewRetry    *backoff.Backoff       // spaces failed renewals; owned by the connection loop
	dialFailures  int                    // consecutive failed connects; owned by the connection loop
	closed        sync.Once

	produceMu   sync.Mutex // held while a sample is taken and stored
	producing   atomic.Bool
	accepted    atomic.Int64
	refused     atomic.Int64
	delivered   atomic.Int64
	connects    atomic.Int64
	connected   atomic.Bool
	interval    atomic.Int64        // telemetry interval in force, ns
	lastAck     atomic.Int64        // unix ns of the last acknowledged message
	windows     atomic.Pointer[any] // the maintenanceWindows value in force (as set in the twin)
	renewAt     atomic.Int64        // unix ns when the identity is due for renewal; 0 = not armed
	provisioned atomic.Int64

	desiredMu sync.Mutex
	desired   [][]byte      // guarded by desiredMu: patches not yet applied
	desiredCh chan struct{} // signalled when desired grows

	reportMu sync.Mutex
	report   map[string]any // guarded by reportMu: reported changes the store could not take
}

// New builds an agent; nothing runs until Run.
func New(cfg Config) (*Agent, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:       cfg,
		log:       cfg.Logger.With("device", cfg.Hub.DeviceID),
		ready:     make(chan struct{}, 1),
		desiredCh: make(chan struct{}, 1),
		report:    map[string]any{},
	}
	if err := a.openStore(); err != nil {
		return nil, err
	}
	if cfg.Identity != nil {
		if err := a.openIdentity(); err != nil {
			a.release()
			return nil, err
		}
	}
	if a.cfg.Boot == 0 {
		boot, err := a.store.NextBoot()
		if err != nil {
			a.release()
			return nil, fmt.Errorf("agent boot counter: %w", err)
		}
		a.cfg.Boot = boot
	}
	a.gate = guard.NewGate(guard.New(cfg.Guard), cfg.Now, time.After)
	if err := a.openSubsystems(); err != nil {
		a.Close()
		return nil, err
	}
	if cfg.HostMetrics {
		a.host = telemetry.NewHostSampler(0, cfg.Now)
	}
	a.producing.Store(true)
	a.interval.Store(int64(cfg.TelemetryInterval))
	return a, nil
}

// openSubsystems opens the audit log first (log delivery ships it, and
// updates write to it), then log delivery, the twin and updates.
func (a *Agent) openSubsystems() error {
	cfg := a.cfg
	if cfg.AuditLogPath != "" {
		al, err := guard.OpenAuditLog(cfg.AuditLogPath)
		if err != nil {
			return fmt.Errorf("agent audit log: %w", err)
		}
		a.audit = al
	}
	if len(cfg.Logs.Sources) > 0 {
		if err := a.openLogs(); err != nil {
			return err
		}
	}
	a.twin = twin.New(a.writableProperties()...)
	a.renewRetry = backoff.New(backoff.Policy{Base: time.Minute, Cap: time.Hour}, cfg.Rand)
	if cfg.Updates != nil {
		return a.openUpdates()
	}
	return nil
}

// writableProperties are the desired properties the agent accepts, each
// with its handler (DTDL: agent/model).
func (a *Agent) writableProperties() []twin.Property {
	props := []twin.Property{
		twin.IntervalProperty(a.TelemetryInterval, func(d time.Duration) { a.interval.Store(int64(d)) }),
	}
	props = append(props, a.windowsProperty())
	if a.logs != nil {
		props = append(props, a.logs.Properties(a.cfg.Logs.ScheduleSources)...)
	}
	return props
}

// WritableProperties names the desired properties the agent accepts.
func (a *Agent) WritableProperties() []string { return a.twin.Names() }

// reportedProperties are the read-only properties the agent reports after
// every connect (DTDL: agent/model).
func (a *Agent) reportedProperties() map[string]any {
	m := map[string]any{
		"agentVersion":    Version,
		"bootCount":       a.cfg.Boot,
		"evictedMessages": a.store.Stats().Evicted,
	}
	if a.logs != nil {
		m[logship.ReportedUploads] = a.logs.Jobs()
	}
	return m
}

// ReportedProperties names the read-only properties the agent reports.
func (a *Agent) ReportedProperties() []string {
	out := []string{"guard", "store"}
	for k := range a.reportedProperties() {
		out = append(out, k)
	}
	return out
}

// Close releases the agent's store. Call it after Run has returned.
func (a *Agent) Close() error {
	var err error
	a.closed.Do(func() {
		err = a.release()
		if a.audit != nil {
			err = errors.Join(err, a.audit.Close())
		}
	})
	return err
}

// Run runs the agent until ctx ends. It returns nil on cancellation.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { a.produce(ctx) })
	wg.Go(func() { a.watchCase(ctx) })
	if a.updates != nil {
		wg.Go(func() { a.runUpdates(ctx) })
	}
	if a.logs != nil {
		wg.Go(func() {
			if err := a.logs.Run(ctx); err != nil {
				a.log.Error("log shipper stopped", "err", err)
			}
		})
	}
	a.connectLoop(ctx)
	wg.Wait()
	return nil
}

// SetProducing starts or stops sampling telemetry (the harness stops it
// before draining a run). When it returns false-ward, no sample is in
// flight: Stats().Accepted no longer grows.
func (a *Agent) SetProducing(on bool) {
	a.produceMu.Lock()
	defer a.produceMu.Unlock()
	if !on {
		a.flushBatch(a.cfg.Now()) // readings collected so far go out
	}
	a.producing.Store(on)
}

// Stats returns the counters.
func (a *Agent) Stats() Stats {
	pending, _ := a.store.Len()
	st := Stats{
		Accepted:    a.accepted.Load(),
		Delivered:   a.delivered.Load(),
		Pending:     pending,
		Evicted:     a.store.Stats().Evicted,
		Refused:     a.refused.Load(),
		Connects:    a.connects.Load(),
		Connected:   a.connected.Load(),
		Provisioned: a.provisioned.Load(),
	}
	if ns := a.lastAck.Load(); ns != 0 {
		st.LastDelivered = time.Unix(0, ns)
	}
	return st
}

// Boot is this run's boot number in message ids.
func (a *Agent) Boot() uint64 { return a.cfg.Boot }

// TelemetryInterval is the sampling period in force.
func (a *Agent) TelemetryInterval() time.Duration { return time.Duration(a.interval.Load()) }
