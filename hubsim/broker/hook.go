package broker

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// Config is what the hook needs from the hub that owns it.
type Config struct {
	HostName string         // the hub host name devices put in their username
	Roots    *x509.CertPool // CAs trusted for CA-signed device authentication
	Registry *registry.Registry
	Twins    *twinstore.Store
	Events   *eventlog.Log
	Logger   *slog.Logger     // nil discards
	Now      func() time.Time // nil = time.Now
	// OnReported, if set, is called after a reported patch is accepted,
	// on the device's read path: it must be fast and must not block.
	OnReported func(deviceID string, version int, patch []byte)
}

// Hook is the mochi hook that turns the broker into an IoT Hub.
type Hook struct {
	mqtt.HookBase
	cfg Config

	mu    sync.Mutex
	conns map[string]*mqtt.Client // device id -> its current connection; guarded by mu
}

// NewHook returns a hook for cfg.
func NewHook(cfg Config) *Hook {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Hook{cfg: cfg, conns: make(map[string]*mqtt.Client)}
}

// ID names the hook.
func (h *Hook) ID() string { return "iothub" }

// Provides declares the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
		mqtt.OnPublish,
	}, []byte{b})
}

// OnConnectAuthenticate admits a device only with a valid X.509 identity
// (PROTOCOL.md §1.4). Returning false makes mochi answer CONNACK 0x05
// "not authorized" on MQTT 3.1.1.
func (h *Hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if err := h.authenticate(cl, pk); err != nil {
		h.cfg.Logger.Warn("device refused", "client", cl.ID, "remote", cl.Net.Remote, "reason", err.Error())
		return false
	}
	return true
}

func (h *Hook) authenticate(cl *mqtt.Client, pk packets.Packet) error {
	id := pk.Connect.ClientIdentifier
	user, err := topic.ParseUsername(string(pk.Connect.Username))
	if err != nil {
		return err
	}
	if user.DeviceID != id || user.ModuleID != "" {
		return fmt.Errorf("username names device %q but client id is %q", user.DeviceID, id)
	}
	if !strings.EqualFold(user.HostName, h.cfg.HostName) {
		return fmt.Errorf("username names hub %q, this hub is %q", user.HostName, h.cfg.HostName)
	}
	dev, err := h.cfg.Registry.Get(id)
	if err != nil {
		return err
	}
	if dev.Status != registry.StatusEnabled {
		return fmt.Errorf("device %q is disabled", id)
	}
	if dev.Auth != registry.AuthCertificateAuthority {
		return fmt.Errorf("device %q uses %s authentication, only certificateAuthority is supported yet", id, dev.Auth)
	}
	return h.verifyCertificate(cl, id)
}

func (h *Hook) verifyCertificate(cl *mqtt.Client, id string) error {
	tc, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return errors.New("connection is not TLS")
	}
	chain := tc.ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return errors.New("no client certificate presented")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         h.cfg.Roots,
		Intermediates: inter,
		CurrentTime:   h.cfg.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	if cn := chain[0].Subject.CommonName; cn != id {
		return fmt.Errorf("certificate CN %q does not match device id %q", cn, id)
	}
	return nil
}

// OnACLCheck confines a device to its own topics: publishing to another
// device's topic, or subscribing outside the documented filters, is refused
// (mochi then disconnects a QoS 1 publisher).
func (h *Hook) OnACLCheck(cl *mqtt.Client, name string, write bool) bool {
	if write {
		return topic.PublishAllowed(cl.ID, name)
	}
	return topic.FilterAllowed(cl.ID, name) || topic.Delivery(cl.ID, name)
}

// OnSessionEstablished marks the device connected and remembers its
// connection as the current one (a new connection takes over).
func (h *Hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.mu.Lock()
	h.conns[cl.ID] = cl
	h.mu.Unlock()
	if err := h.cfg.Registry.SetConnected(cl.ID, true, h.cfg.Now()); err != nil {
		h.cfg.Logger.Warn("connection state", "device", cl.ID, "err", err)
	}
}

// OnDisconnect marks the device disconnected unless a newer connection of
// the same device has already taken over.
func (h *Hook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	h.mu.Lock()
	current := h.conns[cl.ID] == cl
	if current {
		delete(h.conns, cl.ID)
	}
	h.mu.Unlock()
	if !current {
		return
	}
	_ = h.cfg.Registry.SetConnected(cl.ID, false, h.cfg.Now()) // unknown ids never got a session
}

// client returns the device's current connection, or nil.
func (h *Hook) client(deviceID string) *mqtt.Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[deviceID]
}
