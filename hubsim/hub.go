package hubsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/cloudpillar/cloudpillar/hubsim/broker"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
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

	closeOnce sync.Once
}

// New builds a hub; it opens nothing until Start.
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
	ca := cfg.CA
	if ca == nil {
		var err error
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
	}
	h.hook = broker.NewHook(broker.Config{
		HostName:   cfg.HostName,
		Roots:      ca.Pool(),
		Registry:   h.registry,
		Twins:      h.twins,
		Events:     h.events,
		Logger:     cfg.Logger.With("subsystem", "broker"),
		OnReported: cfg.OnReported,
	})
	return h, nil
}

// Start opens the MQTT/TLS endpoint and serves it.
func (h *Hub) Start() error {
	cert, err := h.ca.IssueServer(h.cfg.ServerNames...)
	if err != nil {
		return fmt.Errorf("hub server certificate: %w", err)
	}
	raw := h.cfg.MQTTListener
	if raw == nil {
		if raw, err = net.Listen("tcp", h.cfg.MQTTAddr); err != nil {
			return fmt.Errorf("hub mqtt listener: %w", err)
		}
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
	return h.srv.Serve()
}

func newServer(log *slog.Logger) *mqtt.Server {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 128 // DESIGN.md §6: ~20 KiB less per idle device than mochi's 8,192
	caps.MaximumQos = 1
	caps.RetainAvailable = 0
	return mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       log.With("subsystem", "mochi"),
	})
}

// Close stops the hub and disconnects every device.
func (h *Hub) Close(ctx context.Context) error {
	var err error
	h.closeOnce.Do(func() {
		if h.srv == nil {
			return
		}
		done := make(chan error, 1)
		go func() { done <- h.srv.Close() }()
		select {
		case err = <-done:
		case <-ctx.Done():
			err = fmt.Errorf("close hub: %w", ctx.Err())
		}
	})
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
