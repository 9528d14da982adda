package hubsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/broker"
	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/methods"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// Defaults for Config fields left zero.
const (
	DefaultHostName = "localhost"
	DefaultMQTTAddr = "127.0.0.1:0"
)

// Config describes a hub. The zero value is a hub on a random loopback port
// with a freshly generated CA.
type Config struct {
	// HostName is the hub's logical host name (devices put it in their
	// MQTT username). Default "localhost".
	HostName string
	// MQTTAddr is the TCP address of the MQTT/TLS endpoint. Default
	// "127.0.0.1:0" (a free port). Ignored when MQTTListener is set.
	MQTTAddr string
	// MQTTListener, if set, is a raw (non-TLS) listener the hub serves
	// MQTT on, wrapping it in TLS itself (an in-memory network, say).
	MQTTListener net.Listener
	// CA signs the hub's server certificate and is trusted for CA-signed
	// device authentication. Nil generates one.
	CA *testpki.CA
	// DPS, if set, also runs a Device Provisioning Service on its own
	// listener (dps_api.go); with CA nil the hub then trusts only the lab's
	// operational CA.
	DPS *DPSConfig
	// ServerNames are the DNS names and IPs in the server certificate.
	// Default: HostName, "localhost", "127.0.0.1".
	ServerNames []string
	// KeepEvents keeps every telemetry message (bodies included) in the
	// event log; without it only ids and counts are kept.
	KeepEvents bool
	// Logger receives the hub's logs. Nil discards them.
	Logger *slog.Logger
	// OnReported, if set, sees every accepted reported-properties patch
	// (device id, new reported $version, the patch as sent). It runs on the
	// device's connection: it must be fast and must not block.
	OnReported func(deviceID string, version int, patch []byte)

	// Policies are the hub's shared access policies. Nil creates IoT
	// Hub's five built-in ones (sas.DefaultPolicies) with fresh keys.
	Policies []sas.Policy
	// Now is the hub's clock for token expiry, certificate validity and
	// C2D time to live. Nil is time.Now.
	Now func() time.Time
	// C2D sets the cloud-to-device queue limits; zero fields take IoT
	// Hub's defaults (50 messages, 1 h TTL, 60 s lock, 10 deliveries).
	C2D c2d.Config
	// DisabledCode is the CONNACK return code for a disabled device; zero
	// is 0x05 not authorized (PROTOCOL.md §10).
	DisabledCode byte
	// SASGrace keeps a connection open this long past its SAS token's
	// expiry; zero disconnects at expiry.
	SASGrace time.Duration
	// MaxSubscriptions limits distinct subscription filters per device;
	// zero is 5.
	MaxSubscriptions int
	// IgnoreUnknownTopics drops publishes and refuses filters outside the
	// documented topics instead of closing the connection.
	IgnoreUnknownTopics bool
	// Throttle, if set, makes the hub enforce an IoT Hub tier: the
	// operation throttles and the daily message quota of PROTOCOL.md §5 on
	// device MQTT and the REST API, with the hub's clock (Now); see
	// throttle_api.go for what each refusal looks like. Nil is no
	// throttling. The Go API (UpdateDesired, SendC2D, InvokeMethod, ...)
	// is the harness's back door and is never throttled. SetThrottle
	// changes it while the hub runs.
	Throttle *throttle.Config
	// Blobs sets the blob endpoint's size limits; zero fields take the
	// defaults (256 MiB a blob, Azure's 4000 MiB a block and 5000 MiB a
	// Put Blob).
	Blobs blob.StoreConfig
	// UpdateURLLifetime is how long the download URL of an update file
	// published through POST /_sim/updates/{name} (updates_api.go) stays
	// valid, on the hub's clock (Now). Zero is DefaultUpdateURLLifetime
	// (30 days).
	UpdateURLLifetime time.Duration

	// HTTPSAddr is the TCP address of the HTTPS endpoint (service REST
	// API, device file upload, blob endpoint, /_sim/). Default
	// DefaultHTTPSAddr. Ignored when HTTPSListener is set.
	HTTPSAddr string
	// HTTPSListener, if set, is a raw (non-TLS) listener the hub serves
	// HTTPS on, wrapping it in TLS itself.
	HTTPSListener net.Listener
	// StateDir, if set, keeps the hub's files: uploaded blobs under
	// StateDir/blobs, and in StateDir/hub.db the registry, twins, C2D
	// queues and the event log's counts and message ids (persist.go), which
	// New restores. Empty keeps state in memory only and blobs in a
	// temporary directory Close removes.
	StateDir string
	// StateFlushInterval is how often changes are written to
	// StateDir/hub.db (and Close writes the rest). Zero is
	// DefaultStateFlushInterval.
	StateFlushInterval time.Duration
}

// Hub is a running IoT Hub simulator.
type Hub struct {
	cfg      Config
	ca       *testpki.CA
	srv      *mqtt.Server
	hook     *broker.Hook
	registry *registry.Registry
	twins    *twinstore.Store
	events   *eventlog.Log
	ln       net.Listener
	methods  *methods.Table
	c2d      *c2d.Store
	redeliv  *redeliverer // C2D lock and TTL timer, started with the hub
	https    httpsServer  // https.go: REST API, file upload, blobs; started after MQTT
	dps      dpsEndpoint  // dps_api.go: Device Provisioning Service; started last

	ws *broker.WebSocket // MQTT over WebSockets, for the HTTPS server to mount

	state *persister // persist.go: StateDir/hub.db; nil without StateDir

	restartMu    sync.Mutex         // restart.go: serialises Restart; guards the two below
	endpoints    []*restartListener // every listener the hub serves; guarded by restartMu
	started      bool               // Start succeeded; guarded by restartMu
	dpsEndpoints []*restartListener // the DPS's, set by New
	restarts     atomic.Int64
	closing      chan struct{} // closed when Close begins

	closeOnce sync.Once
}

// New builds a hub; it opens no socket until Start. With a StateDir it
// opens StateDir/hub.db and restores the state saved there.
func New(cfg Config) (*Hub, error) {
	if cfg.HostName == "" {
		cfg.HostName = DefaultHostName
	}
	if cfg.MQTTAddr == "" {
		cfg.MQTTAddr = DefaultMQTTAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.ServerNames) == 0 {
		cfg.ServerNames = uniq(cfg.HostName, "localhost", "127.0.0.1")
	}
	if cfg.Policies == nil {
		cfg.Policies = sas.DefaultPolicies()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.useDPSCA()
	lim, err := newLimiter(cfg.Throttle)
	if err != nil {
		return nil, err
	}
	ca := cfg.CA
	if ca == nil {
		if ca, err = testpki.NewCA("Cloud Pillar hubsim CA"); err != nil {
			return nil, err
		}
	}
	h := &Hub{
		cfg:      cfg,
		ca:       ca,
		registry: registry.New(),
		twins:    twinstore.New(nil),
		events:   eventlog.New(cfg.KeepEvents),
		methods:  methods.NewTable(),
		c2d:      c2d.New(cfg.C2D),
		closing:  make(chan struct{}),
	}
	h.restartableDPS()
	h.redeliv = newRedeliverer(h)
	h.ws = broker.NewWebSocket("wss", cfg.Logger.With("subsystem", "websocket"))
	h.hook = broker.NewHook(broker.Config{
		HostName:            cfg.HostName,
		Roots:               ca.Pool(),
		Policies:            cfg.Policies,
		Registry:            h.registry,
		Twins:               h.twins,
		Events:              h.events,
		Methods:             h.methods,
		C2D:                 h.c2d,
		OnC2DLocked:         h.redeliv.kick,
		Logger:              cfg.Logger.With("subsystem", "broker"),
		Now:                 cfg.Now,
		OnReported:          cfg.OnReported,
		DisabledCode:        cfg.DisabledCode,
		SASGrace:            cfg.SASGrace,
		MaxSubscriptions:    cfg.MaxSubscriptions,
		IgnoreUnknownTopics: cfg.IgnoreUnknownTopics,
		Throttle:            lim,
	})
	if err := h.newDPS(); err != nil {
		return nil, err
	}
	if h.state, err = openState(h); err != nil {
		return nil, err
	}
	return h, nil
}

// Start opens the MQTT/TLS endpoint and serves it.
func (h *Hub) Start() error {
	cert, err := h.ca.IssueServer(h.cfg.ServerNames...)
	if err != nil {
		return fmt.Errorf("hub server certificate: %w", err)
	}
	raw := h.newEndpoint(h.cfg.MQTTListener, h.cfg.MQTTAddr) // restart.go
	if err := raw.bind(); err != nil {
		return fmt.Errorf("hub mqtt listener: %w", err)
	}
	h.ln = tls.NewListener(raw, &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert, // requested, not required (PROTOCOL.md §1.1); verified at CONNECT
		MinVersion:   tls.VersionTLS12,
	})
	h.srv = newServer(h.cfg.Logger)
	if err := h.srv.AddHook(h.hook, nil); err != nil {
		return err
	}
	if err := h.srv.AddListener(broker.NewListener("mqtts", h.ln)); err != nil {
		return err
	}
	if err := h.srv.AddListener(h.ws); err != nil {
		return err
	}
	h.redeliv.start()
	if err := h.srv.Serve(); err != nil {
		return err
	}
	if err := h.bindHTTPS(); err != nil {
		return err
	}
	if err := h.startHTTPS(cert); err != nil {
		return err
	}
	if err := h.bindDPS(); err != nil {
		return err
	}
	if err := h.startDPS(); err != nil {
		return err
	}
	h.state.start()
	h.restartMu.Lock()
	h.started = true
	h.restartMu.Unlock()
	return nil
}

func newServer(log *slog.Logger) *mqtt.Server {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 128 // DESIGN.md §6: ~20 KiB less per idle device than mochi's 8,192
	caps.MaximumQos = 1
	caps.RetainAvailable = 0
	caps.MaximumPacketSize = broker.DefaultMaxMessageSize + 64*1024 // room for the topic; the hook enforces the exact limit
	return mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       log.With("subsystem", "mochi"),
	})
}

// Close stops the hub and disconnects every device; with a StateDir it
// then writes the last changes to StateDir/hub.db and closes it.
func (h *Hub) Close(ctx context.Context) error {
	var err error
	h.closeOnce.Do(func() {
		close(h.closing) // ends a Restart's down time

		httpsErr := errors.Join(h.closeHTTPS(ctx), h.closeDPS(ctx)) // first, so no REST call or registration races the MQTT shutdown
		err = errors.Join(httpsErr, h.closeMQTT(ctx))
		h.closeEndpoints()
		err = errors.Join(err, h.state.close())
	})
	return err
}

func (h *Hub) closeMQTT(ctx context.Context) error {
	if h.srv == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.Close() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("close hub: %w", ctx.Err())
	}
	h.redeliv.stop()
	return err
}

// MQTTAddr is the host:port devices connect to.
func (h *Hub) MQTTAddr() string { return h.ln.Addr().String() }

// HostName is the hub's logical host name.
func (h *Hub) HostName() string { return h.cfg.HostName }

// CA is the hub's certificate authority.
func (h *Hub) CA() *testpki.CA { return h.ca }

// Registry is the device registry.
func (h *Hub) Registry() *registry.Registry { return h.registry }

// Events is the telemetry record.
func (h *Hub) Events() *eventlog.Log { return h.events }

// Twins is the twin store.
func (h *Hub) Twins() *twinstore.Store { return h.twins }

// CreateDevice registers a CA-signed X.509 device and its twin.
func (h *Hub) CreateDevice(id string) error {
	if err := h.registry.Create(registry.Device{ID: id, Auth: registry.AuthCertificateAuthority}); err != nil {
		return err
	}
	if err := h.twins.Create(id); err != nil && !errors.Is(err, twinstore.ErrExists) {
		h.registry.Delete(id)
		return err
	}
	return nil
}

// IssueDeviceCert issues a client certificate for id from the hub's CA.
func (h *Hub) IssueDeviceCert(id string) (certPEM, keyPEM []byte, err error) {
	return h.ca.IssueDevice(id)
}

// UpdateDesired applies a desired-properties patch (a JSON object; null
// members delete) and notifies the device if it is connected. It returns
// the new desired $version.
func (h *Hub) UpdateDesired(id string, patch []byte) (int, error) {
	v, note, err := h.twins.PatchDesired(id, patch)
	if err != nil {
		return 0, err
	}
	h.hook.NotifyDesired(id, v, note)
	return v, nil
}

// Twin returns the service view of a device's twin.
func (h *Hub) Twin(id string) (twinstore.Twin, error) { return h.twins.Get(id) }

// WaitConnected polls until n devices are connected or ctx ends.
func (h *Hub) WaitConnected(ctx context.Context, n int) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if h.registry.ConnectedCount() >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d devices connected: %w", h.registry.ConnectedCount(), n, ctx.Err())
		case <-t.C:
		}
	}
}

func uniq(ss ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
