package broker

import (
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

// conn is what the hub knows about one live connection. The fields above mu
// are set before the connection is published in Hook.conns and never
// change.
type conn struct {
	cl                 *mqtt.Client
	deviceID, moduleID string
	genID              string
	modelID            string    // dt-dataschema
	authMethod         string    // iothub-connection-auth-method
	expires            time.Time // SAS token expiry; zero for X.509

	mu      sync.Mutex
	expiry  *time.Timer       // closes the connection when the token expires; guarded by mu
	stopped bool              // guarded by mu
	lastPID uint16            // last packet id used for C2D; guarded by mu
	c2d     map[uint16]uint64 // C2D packet id -> lock token; guarded by mu
	held    []heldMessage     // telemetry held by traffic shaping, oldest first; guarded by mu
	shaper  *time.Timer       // releases held telemetry when the oldest is due; guarded by mu
}

// newConn describes cl from its CONNECT (already authenticated).
func (h *Hook) newConn(cl *mqtt.Client, pk packets.Packet) *conn {
	c := &conn{cl: cl, c2d: make(map[uint16]uint64)}
	c.deviceID, c.moduleID = registry.Split(cl.ID)
	if u, err := topic.ParseUsername(string(pk.Connect.Username)); err == nil {
		c.modelID = u.ModelID
	}
	dev, err := h.cfg.Registry.Get(cl.ID)
	if err == nil {
		c.genID = dev.GenerationID
	}
	var tok sas.Token
	if pk.Connect.PasswordFlag {
		tok, _ = sas.Parse(string(pk.Connect.Password)) // verified in OnConnect
		c.expires = tok.ExpiresAt
	}
	c.authMethod = authMethod(dev.Auth, pk.Connect.PasswordFlag, tok.KeyName != "")
	return c
}

// authMethod is the iothub-connection-auth-method value: JSON naming the
// scope and credential type, as IoT Hub stamps it ([?] for the X.509 type
// names).
func authMethod(auth registry.AuthType, password, policy bool) string {
	scope, typ := "device", "sas"
	switch {
	case password && policy:
		scope = "hub"
	case password:
	case auth == registry.AuthSelfSigned:
		typ = "x509Certificate"
	default:
		typ = "x509CA"
	}
	return `{"scope":"` + scope + `","type":"` + typ + `","issuer":"iothub","acceptingIpFilterRule":null}`
}

// armExpiry starts the timer that closes a SAS connection when its token
// (plus grace) expires. X.509 connections have none.
func (c *conn) armExpiry(now time.Time, grace time.Duration, log *slog.Logger) {
	if c.expires.IsZero() {
		return
	}
	d := c.expires.Add(grace).Sub(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.expiry = time.AfterFunc(d, func() {
		log.Info("SAS token expired, disconnecting", "device", c.cl.ID)
		c.cl.Stop(&violation{reason: "SAS token expired (401003 IoTHubUnauthorized)"})
	})
}

// stop ends the connection's timers and drops the telemetry traffic
// shaping still holds (never acknowledged, so the device sends it again);
// it is idempotent.
func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.expiry != nil {
		c.expiry.Stop()
	}
	if c.shaper != nil {
		c.shaper.Stop()
	}
	c.held = nil
}

// track assigns a packet id to a QoS 1 C2D delivery with lockToken.
func (c *conn) track(lockToken uint64) uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		c.lastPID++
		if _, used := c.c2d[c.lastPID]; c.lastPID != 0 && !used {
			c.c2d[c.lastPID] = lockToken
			return c.lastPID
		}
	}
}

// untrack forgets a packet id and returns its lock token.
func (c *conn) untrack(pid uint16) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, ok := c.c2d[pid]
	delete(c.c2d, pid)
	return tok, ok
}
