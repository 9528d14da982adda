package devsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// Config describes a fleet.
type Config struct {
	Hub     *hubsim.Hub    // the hub the devices connect to (started)
	Network *chaos.Network // every connection goes through it; nil = a fresh one
	Devices int            // how many devices
	Sites   int            // hospital sites; device i belongs to site i mod Sites. Default 1
	// IDPrefix prefixes device ids ("carto-0001"). Default "carto-".
	IDPrefix string
	// Stagger spreads device starts uniformly over this window. Zero starts all at once.
	Stagger           time.Duration
	TelemetryInterval time.Duration // initial interval; default 1 s
	KeepAlive         time.Duration // MQTT keep-alive; default 10 s
	ConnectTimeout    time.Duration // bounds one dial+TLS+CONNECT; default 10 s
	Backoff           backoff.Policy
	Seed              uint64
	Logger            *slog.Logger
	// StoreDir holds the agents' durable stores, DevicesPerStoreFile
	// devices to a bbolt file (DESIGN.md decision 13). Empty: a temporary
	// directory the fleet removes on Close.
	StoreDir string
	// DevicesPerStoreFile is how many agents share one store file.
	// Default 250.
	DevicesPerStoreFile int
	// SyncStores fsyncs every store commit, as on a real device. Off by
	// default: the simulated host does not lose power.
	SyncStores bool
	// Lab, if set, makes every device leave the factory with only a
	// bootstrap certificate from this lab PKI and provision itself
	// through the hub's DPS (two-phase X.509); the hub must run with DPS
	// on the same lab. Nil: devices are registered in the hub directly and
	// get operational certificates from its CA.
	Lab *testpki.LabPKI
	// Guard tunes every agent's patient-first guard (quiet period, lease,
	// maintenance windows); no setting lowers the floor itself.
	Guard guard.Config
	// TimeScale makes the agents' clock (guard quiet period and lease,
	// maintenance windows, update expiry, renewal, timestamps) run this many
	// times as fast as real time from New (DESIGN.md decision 8); socket
	// timeouts stay real. Zero or 1: real time.
	TimeScale float64
	// Updates, if set, turns on software updates on every device.
	Updates *FleetUpdates
	// LogBytes, if positive, gives every device a CARTO log of about this
	// size and turns on the agent's log delivery to the hub.
	LogBytes int
}

// Device is one member of the fleet.
type Device struct {
	ID    string
	Site  string
	Agent *agent.Agent
	CARTO *carto.Device
	// Slots and Work are set when the fleet runs updates: the device's
	// A/B software slots and the journal of its update work.
	Slots *carto.Slots
	Work  *carto.Journal
	start time.Duration // offset of its start within the stagger window
	store *outbox.Store
}

// Fleet is a set of running virtual devices.
type Fleet struct {
	cfg      Config
	devices  []*Device
	files    []*outbox.Shared
	tmpDir   string           // removed on Close when the fleet made it
	now      func() time.Time // the agents' clock (Config.TimeScale)
	released bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// SiteName names site i.
func SiteName(i int) string { return fmt.Sprintf("site-%02d", i+1) }

// New registers the devices in the hub, issues their certificates and
// builds their agents. Nothing runs until Start.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg, now: scaledClock(time.Now(), cfg.TimeScale)}
	if f.cfg.StoreDir == "" {
		dir, err := os.MkdirTemp("", "cloudpillar-fleet-")
		if err != nil {
			return nil, fmt.Errorf("fleet store directory: %w", err)
		}
		f.cfg.StoreDir, f.tmpDir = dir, dir
	}
	rnd := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed+1))
	for i := 0; i < cfg.Devices; i++ {
		d, err := f.newDevice(i, rnd)
		if err != nil {
			f.release()
			return nil, err
		}
		f.devices = append(f.devices, d)
	}
	return f, nil
}

// storeFor opens device i's store in its shared file.
func (f *Fleet) storeFor(i int, id string) (*outbox.Store, error) {
	n := i / f.cfg.DevicesPerStoreFile
	for len(f.files) <= n {
		path := filepath.Join(f.cfg.StoreDir, fmt.Sprintf("stores-%03d.db", len(f.files)))
		sh, err := outbox.OpenShared(path, !f.cfg.SyncStores)
		if err != nil {
			return nil, err
		}
		f.files = append(f.files, sh)
	}
	return f.files[n].Store(id, outbox.Limits{})
}

func (c *Config) validate() error {
	if c.Hub == nil {
		return fmt.Errorf("fleet config: no hub")
	}
	if c.TimeScale < 0 {
		return fmt.Errorf("fleet config: time scale = %v, must be >= 0", c.TimeScale)
	}
	if c.Devices < 0 {
		return fmt.Errorf("fleet config: devices = %d, must be >= 0", c.Devices)
	}
	if c.Sites <= 0 {
		c.Sites = 1
	}
	if c.IDPrefix == "" {
		c.IDPrefix = "carto-"
	}
	if c.Network == nil {
		c.Network = chaos.NewNetwork(nil)
	}
	if c.TelemetryInterval <= 0 {
		c.TelemetryInterval = time.Second
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 10 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.DevicesPerStoreFile <= 0 {
		c.DevicesPerStoreFile = 250
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (f *Fleet) newDevice(i int, rnd *rand.Rand) (*Device, error) {
	id := fmt.Sprintf("%s%04d", f.cfg.IDPrefix, i+1)
	site := SiteName(i % f.cfg.Sites)
	h := f.cfg.Hub
	var dialer net.Dialer
	dial := f.cfg.Network.Dialer(site, dialer.DialContext)
	cfg := agent.Config{
		Hub: hub.Config{
			DeviceID:       id,
			HostName:       h.HostName(),
			Address:        h.MQTTAddr(),
			RootCAs:        h.CA().Pool(),
			KeepAlive:      f.cfg.KeepAlive,
			PingTimeout:    f.cfg.KeepAlive / 2,
			ConnectTimeout: f.cfg.ConnectTimeout,
			Dial:           hub.DialFunc(dial),
		},
		TelemetryInterval: f.cfg.TelemetryInterval,
		Backoff:           f.cfg.Backoff,
		Rand:              rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64())),
		Logger:            f.cfg.Logger.With("site", site),
		Guard:             f.cfg.Guard,
		Now:               f.now,
	}
	if err := f.credentials(&cfg, id, provision.DialFunc(dial)); err != nil {
		return nil, err
	}
	store, err := f.storeFor(i, id)
	if err != nil {
		return nil, fmt.Errorf("device %s store: %w", id, err)
	}
	dev := carto.New(rnd.Uint64())
	cfg.Device, cfg.Store = dev, store
	d := &Device{ID: id, Site: site, CARTO: dev, store: store}
	if f.cfg.Updates != nil {
		if err := f.wireUpdates(&cfg, d, dial); err != nil {
			store.Close()
			return nil, err
		}
	}
	if f.cfg.LogBytes > 0 {
		if err := f.wireLogs(&cfg, id, rnd); err != nil {
			store.Close()
			return nil, err
		}
	}
	if d.Agent, err = agent.New(cfg); err != nil {
		store.Close()
		return nil, err
	}
	if f.cfg.Stagger > 0 {
		d.start = time.Duration(rnd.Int64N(int64(f.cfg.Stagger)))
	}
	return d, nil
}

// credentials gives the device its identity: an operational certificate
// from the hub's CA (registered in the hub now), or, with a lab, only a
// bootstrap certificate and what it needs to provision through DPS.
func (f *Fleet) credentials(cfg *agent.Config, id string, dial provision.DialFunc) error {
	h := f.cfg.Hub
	if f.cfg.Lab == nil {
		if err := h.CreateDevice(id); err != nil {
			return fmt.Errorf("register %s: %w", id, err)
		}
		certPEM, keyPEM, err := h.IssueDeviceCert(id)
		if err != nil {
			return err
		}
		if cfg.Hub.Certificate, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
			return fmt.Errorf("device %s certificate: %w", id, err)
		}
		return nil
	}
	boot, err := f.cfg.Lab.IssueBootstrap(id, "")
	if err != nil {
		return fmt.Errorf("device %s bootstrap certificate: %w", id, err)
	}
	cert := boot.TLS()
	cfg.Identity = &agent.IdentityConfig{
		Dir:     filepath.Join(f.cfg.StoreDir, "identities", id),
		KeyType: identity.P256,
		Provision: provision.Config{
			IDScope: h.IDScope(), RegistrationID: id, Address: h.DPSAddr(), ServerName: h.HostName(),
			RootCAs: h.CA().Pool(), Certificate: &cert, Dial: dial, ConnectTimeout: f.cfg.ConnectTimeout,
		},
	}
	return nil
}

// Start runs every device's agent, each after its stagger offset.
func (f *Fleet) Start(ctx context.Context) {
	ctx, f.cancel = context.WithCancel(ctx)
	for _, d := range f.devices {
		f.wg.Go(func() {
			if d.start > 0 {
				t := time.NewTimer(d.start)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			if err := d.Agent.Run(ctx); err != nil {
				f.cfg.Logger.Error("agent stopped", "device", d.ID, "err", err)
			}
		})
	}
}

// Close stops every agent, waits for them (or for ctx), and releases their
// stores.
func (f *Fleet) Close(ctx context.Context) error {
	if f.cancel != nil {
		f.cancel()
		done := make(chan struct{})
		go func() { f.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("close fleet: %w", ctx.Err())
		}
	}
	return f.release()
}

// release closes the agents, their stores and the shared files, and
// removes the fleet's temporary directory.
func (f *Fleet) release() error {
	if f.released {
		return nil
	}
	f.released = true
	var errs []error
	for _, d := range f.devices {
		errs = append(errs, d.Agent.Close(), d.store.Close())
	}
	for _, sh := range f.files {
		errs = append(errs, sh.Close())
	}
	f.files = nil
	if f.tmpDir != "" {
		errs = append(errs, os.RemoveAll(f.tmpDir))
		f.tmpDir = ""
	}
	return errors.Join(errs...)
}

// Devices returns the fleet's devices.
func (f *Fleet) Devices() []*Device { return f.devices }

// Network is the chaos network the fleet's connections go through.
func (f *Fleet) Network() *chaos.Network { return f.cfg.Network }

// SetProducing starts or stops telemetry sampling on every device.
func (f *Fleet) SetProducing(on bool) {
	for _, d := range f.devices {
		d.Agent.SetProducing(on)
	}
}

// Totals sums the agents' counters.
func (f *Fleet) Totals() agent.Stats {
	var t agent.Stats
	for _, d := range f.devices {
		s := d.Agent.Stats()
		t.Accepted += s.Accepted
		t.Delivered += s.Delivered
		t.Pending += s.Pending
		t.Evicted += s.Evicted
		t.Connects += s.Connects
		t.Provisioned += s.Provisioned
	}
	return t
}

// Connected counts devices whose agent holds a live session.
func (f *Fleet) Connected() int {
	n := 0
	for _, d := range f.devices {
		if d.Agent.Stats().Connected {
			n++
		}
	}
	return n
}
