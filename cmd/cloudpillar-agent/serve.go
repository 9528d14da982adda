package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/device/hostlink"
)

// stopTimeout bounds how long a stop waits for the agent and the host link
// to return and the health endpoint to close.
const stopTimeout = 10 * time.Second

// errUnexpectedStop is returned when the agent or host link returns
// before it was asked to stop (exit code 1, so the service manager
// restarts it).
var errUnexpectedStop = errors.New("stopped without being asked to")

// serve runs the agent with cfg until ctx ends, then stops it gracefully:
// cancel, wait (bounded) for the agent and host link, close the health
// endpoint, log "stopped" with the counters, close the log file.
func serve(ctx context.Context, cfg *config, stderr io.Writer) (err error) {
	out, closeLog, err := openLogOutput(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeLog()) }()
	log := newLogger(out, cfg.Log.Level, cfg.Log.Format)
	s, err := startServices(cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return err
	}
	return s.run(ctx)
}

// services are the running parts of the agent process.
type services struct {
	cfg    *config
	log    *slog.Logger
	agent  *agent.Agent
	link   *hostlink.Link // nil without a host link
	health *healthServer  // nil when disabled
}

// startServices builds the agent, binds the host link and starts the
// health endpoint. On error nothing is left running.
func startServices(cfg *config, log *slog.Logger) (*services, error) {
	for _, dir := range []string{filepath.Dir(cfg.StorePath), filepath.Dir(cfg.AuditLogPath)} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
	}
	s := &services{cfg: cfg, log: log}
	var dev device.Device // nil: the agent's idle device
	if cfg.HostLink != nil {
		hc := *cfg.HostLink
		hc.Logger = log.With("subsystem", "hostlink")
		link, err := hostlink.New(hc)
		if err != nil {
			return nil, err
		}
		s.link, dev = link, link
	}
	ac, err := agentConfig(cfg, dev, log)
	if err == nil {
		s.agent, err = agent.New(ac)
	}
	if err != nil {
		s.closeLink()
		return nil, err
	}
	if err := s.startHealth(); err != nil {
		s.closeLink()
		return nil, errors.Join(err, s.agent.Close())
	}
	return s, nil
}

// agentConfig is the agent's configuration for cfg, with dev as the host
// device.
func agentConfig(cfg *config, dev device.Device, log *slog.Logger) (agent.Config, error) {
	ac := agent.Config{
		Hub:               cfg.Hub,
		Identity:          cfg.Identity,
		Device:            dev,
		TelemetryInterval: cfg.TelemetryInterval,
		BatchSamples:      cfg.BatchSamples,
		HostMetrics:       true,
		StorePath:         cfg.StorePath,
		Backoff:           cfg.Backoff,
		Guard:             cfg.Guard,
		AuditLogPath:      cfg.AuditLogPath,
		Logs:              cfg.Logs,
		Logger:            log,
		Now:               cfg.now,
	}
	if cfg.Updates != nil {
		u, err := cfg.Updates.agentConfig(log)
		if err != nil {
			return agent.Config{}, err
		}
		ac.Updates = u
	}
	return ac, nil
}

func (s *services) startHealth() error {
	if s.cfg.HealthAddress == "" {
		return nil
	}
	h := &healthHandler{
		src:     s.agent,
		expiry:  s.agent.IdentityExpires,
		version: agent.Version,
		now:     time.Now,
		tracker: newDownTracker(time.Now()),
	}
	var err error
	s.health, err = startHealth(s.cfg.HealthAddress, h, s.log)
	return err
}

func (s *services) closeLink() {
	if s.link != nil {
		s.link.Close(context.Background()) // never served: only releases the listener
	}
}

// result is what one runner (the agent's Run or the host link's Serve)
// returned.
type result struct {
	agent bool
	err   error
}

// run runs the agent and host link until ctx ends or one of them fails,
// then stops everything.
func (s *services) run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, 2)
	running := s.spawn(runCtx, results)
	s.logStarted()
	s.notify("READY=1\nSTATUS=running")
	var first result
	select {
	case first = <-results:
		running--
		if first.err == nil && ctx.Err() == nil {
			first.err = errUnexpectedStop
		}
		s.log.Error("stopping after a failure", "err", first.err)
	case <-ctx.Done():
		s.log.Info("stopping", "reason", context.Cause(ctx))
	}
	s.notify("STOPPING=1")
	cancel()
	return errors.Join(first.err, s.stop(results, running, first.agent))
}

// spawn starts the agent and the host link; it returns how many results
// will arrive on results.
func (s *services) spawn(ctx context.Context, results chan<- result) int {
	go func() { results <- result{agent: true, err: wrapErr("agent", s.agent.Run(ctx))} }()
	if s.link == nil {
		return 1
	}
	go func() { results <- result{err: wrapErr("host link", s.link.Serve(ctx))} }()
	return 2
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// stop waits up to stopTimeout for the running parts, closes the host link
// and the health endpoint, logs "stopped" and closes the agent's store
// (only once Run has returned: the store is never closed under it).
func (s *services) stop(results <-chan result, running int, agentStopped bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var errs []error
wait:
	for ; running > 0; running-- {
		select {
		case r := <-results:
			errs = append(errs, r.err)
			agentStopped = agentStopped || r.agent
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("the agent did not stop within %v", stopTimeout))
			break wait
		}
	}
	if s.link != nil {
		errs = append(errs, s.link.Close(ctx))
	}
	if s.health != nil {
		errs = append(errs, s.health.Close(ctx))
	}
	s.logStopped(errors.Join(errs...))
	if agentStopped {
		errs = append(errs, wrapErr("close agent store", s.agent.Close()))
	}
	return errors.Join(errs...)
}

func (s *services) logStarted() {
	c := s.cfg
	attrs := []any{"device", c.Hub.DeviceID, "hub", c.Hub.HostName, "address", c.Hub.Address,
		"store", c.StorePath, "telemetryInterval", c.TelemetryInterval.String(), "version", agent.Version,
		"auditLog", c.AuditLogPath, "maintenanceWindows", len(c.Guard.Windows), "logSources", len(c.Logs.Sources),
		"updates", c.Updates != nil}
	if c.Identity != nil {
		p := c.Identity.Provision
		attrs = append(attrs, "provisioning", p.Address, "registrationId", p.RegistrationID, "identityDir", c.Identity.Dir)
	}
	if s.health != nil {
		attrs = append(attrs, "health", s.health.Addr())
	}
	if s.link != nil {
		attrs = append(attrs, "hostLink", s.link.Network()+":"+s.link.Addr())
	}
	s.log.Info("started", attrs...)
}

func (s *services) logStopped(err error) {
	st := s.agent.Stats()
	attrs := []any{"accepted", st.Accepted, "delivered", st.Delivered, "pending", st.Pending,
		"evicted", st.Evicted, "connects", st.Connects}
	if err != nil {
		s.log.Error("stopped", append(attrs, "err", err)...)
		return
	}
	s.log.Info("stopped", attrs...)
}

// notify tells systemd about the service's state (sd_notify(3)) when it
// runs with Type=notify; without NOTIFY_SOCKET it does nothing.
func (s *services) notify(state string) {
	if err := sdNotify(os.Getenv("NOTIFY_SOCKET"), state); err != nil {
		s.log.Warn("systemd notify failed", "err", err)
	}
}

// sdNotify sends one datagram to the notification socket at addr (a path,
// or "@name" for an abstract socket, which the net package understands).
func sdNotify(addr, state string) error {
	if addr == "" {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
