package broker

import (
	"bytes"
	"crypto/x509"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/methods"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxSubscriptions = 5          // "a device can only subscribe to five topics at a time"
	DefaultMaxMessageSize   = 256 * 1024 // D2C body plus property bag
	DefaultDisabledCode     = 0x05       // CONNACK "not authorized" (PROTOCOL.md §10: 3 or 5 unconfirmed)
)

// CONNACK return codes of MQTT 3.1.1 the hook sends itself.
const (
	codeUnacceptableProtocol = 0x01
	codeServerUnavailable    = 0x03 // connection throttled (agent/hub maps it to hub.ErrThrottled)
	codeNotAuthorized        = 0x05
)

// Config is what the hook needs from the hub that owns it.
type Config struct {
	HostName string         // the hub host name devices put in their username
	Roots    *x509.CertPool // CAs trusted for CA-signed device authentication
	Policies []sas.Policy   // hub-level policies; a token with skn needs DeviceConnect
	Registry *registry.Registry
	Twins    *twinstore.Store
	Events   *eventlog.Log
	Methods  *methods.Table // nil: a private table
	C2D      *c2d.Store     // nil: no cloud-to-device messages
	// OnC2DLocked, if set, is called after messages were locked for
	// delivery, so the owner of the redelivery timer can re-arm it. It must
	// not block.
	OnC2DLocked func()
	Logger      *slog.Logger     // nil discards
	Now         func() time.Time // nil = time.Now
	// OnReported, if set, is called after a reported patch is accepted,
	// on the device's read path: it must be fast and must not block.
	OnReported func(deviceID string, version int, patch []byte)
	// DisabledCode is the CONNACK return code for a disabled device.
	// Zero means DefaultDisabledCode; 0x03 (server unavailable) is what
	// the C SDK maps to DEVICE_DISABLED.
	DisabledCode byte
	// SASGrace keeps a connection open this long after its SAS token
	// expired. Zero disconnects at expiry (a ~5 min grace was reported
	// for the real hub [obs]).
	SASGrace time.Duration
	// MaxSubscriptions limits distinct filters per session; a filter past
	// it is refused with SUBACK 0x80. Zero means 5.
	MaxSubscriptions int
	// MaxMessageSize limits a D2C message (body plus property bag); a
	// larger one closes the connection. Zero means 256 KiB.
	MaxMessageSize int
	// IgnoreUnknownTopics, if set, drops a publish to a topic outside the
	// documented set (or another device's) and refuses such a filter with
	// SUBACK 0x80, instead of closing the connection as the hub was
	// observed to do (PROTOCOL.md §10).
	IgnoreUnknownTopics bool
	// Throttle, if set, applies an IoT Hub tier's throttles and daily
	// quota to connects, telemetry and twin requests (throttle.go); nil
	// is no throttling. Hook.SetThrottle changes it.
	Throttle *throttle.Limiter
}

func (c *Config) fill() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Methods == nil {
		c.Methods = methods.NewTable()
	}
	if c.DisabledCode == 0 {
		c.DisabledCode = DefaultDisabledCode
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
}

// Hook is the mochi hook that turns the broker into an IoT Hub.
type Hook struct {
	mqtt.HookBase
	cfg Config

	mu    sync.Mutex // serialises session start and end (and their registry updates)
	conns sync.Map   // identity -> *conn, the current connection; stored and deleted under mu

	limiter atomic.Pointer[throttle.Limiter] // nil: no throttling
}

// NewHook returns a hook for cfg.
func NewHook(cfg Config) *Hook {
	cfg.fill()
	h := &Hook{cfg: cfg}
	h.limiter.Store(cfg.Throttle)
	return h
}

// ID names the hook.
func (h *Hook) ID() string { return "iothub" }

// Provides declares the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect,
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
		mqtt.OnPacketRead,
		mqtt.OnPacketProcessed,
		mqtt.OnPublish,
		mqtt.OnWillSent,
	}, []byte{b})
}

// OnSessionEstablished makes the connection the identity's current one (a
// new connection takes over), marks it connected, arms its token-expiry
// timer and delivers queued C2D if the session kept its subscription.
func (h *Hook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	c := h.newConn(cl, pk)
	h.mu.Lock()
	old, _ := h.conns.Swap(cl.ID, c)
	err := h.cfg.Registry.SetConnected(cl.ID, true, h.cfg.Now())
	h.mu.Unlock()
	if old != nil {
		old.(*conn).stop()
	}
	if err != nil {
		h.cfg.Logger.Warn("connection state", "device", cl.ID, "err", err)
	}
	// The identity may have been disabled or deleted between CONNECT and
	// now, before Disconnect could find this connection.
	if d, err := h.cfg.Registry.Get(cl.ID); err != nil || d.Status != registry.StatusEnabled {
		cl.Stop(&violation{reason: "device disabled or deleted while connecting"})
		return
	}
	c.armExpiry(h.cfg.Now(), h.cfg.SASGrace, h.cfg.Logger)
	h.DeliverC2D(cl.ID)
}

// OnDisconnect marks the identity disconnected unless a newer connection
// has already taken over, and stops the connection's timer.
func (h *Hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	c := h.connOf(cl)
	if c == nil {
		return
	}
	c.stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns.CompareAndDelete(cl.ID, c) {
		_ = h.cfg.Registry.SetConnected(cl.ID, false, h.cfg.Now()) // a deleted device has no state to keep
	}
}

// conn returns the identity's current connection, or nil.
func (h *Hook) conn(identity string) *conn {
	v, ok := h.conns.Load(identity)
	if !ok {
		return nil
	}
	return v.(*conn)
}

// connOf returns cl's connection state if cl is its identity's current
// connection, else nil.
func (h *Hook) connOf(cl *mqtt.Client) *conn {
	if c := h.conn(cl.ID); c != nil && c.cl == cl {
		return c
	}
	return nil
}

// Disconnect closes the identity's current connection, if any (the device
// was disabled or deleted), and reports whether there was one.
func (h *Hook) Disconnect(identity, reason string) bool {
	c := h.conn(identity)
	if c == nil {
		return false
	}
	h.cfg.Logger.Info("disconnecting device", "device", identity, "reason", reason)
	c.cl.Stop(&violation{reason: reason})
	return true
}

// Connected reports whether the identity has a live connection.
func (h *Hook) Connected(identity string) bool { return h.conn(identity) != nil }
