package broker

import (
	"errors"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

// Throttling over MQTT, as IoT Hub does it where it is documented and as
// chosen where it is not (PROTOCOL.md §2.1, §2.3, §5, §10):
//   - CONNECT over the new-connection rate: CONNACK 0x03 server unavailable
//     (what agent/hub reads as throttling; the exact code is [?]).
//   - Twin GET or reported PATCH over its rate: `$iothub/twin/res/429/`
//     with {"errorCode":429001,...}; with the daily quota used up: 403 and
//     403002 [doc].
//   - Telemetry over the D2C rate: held, unacknowledged, while its wait
//     lasts (traffic shaping: "IoT Hub starts placing the requests in a
//     queue and processed at the limit rate"), then recorded and
//     acknowledged; when the wait would pass the shaping bound, or the
//     daily quota is used up, the connection is closed. MQTT has no
//     per-message error: "429 errors are only respective to the HTTP
//     transport. For MQTT the connection is closed by the hub"
//     (Azure/azure-iot-sdk-c#1766), "once HUB return 429002, it will
//     proactively disconnect the device" (MicrosoftDocs/azure-docs#107838),
//     and over the quota "the service drops the connection"
//     (Azure/azure-iot-sdk-python#735; azure-iot-sdk-java#377: the
//     connection opens, then is severed). A closed connection loses the
//     held messages, which were never acknowledged.

// SetThrottle replaces the limiter; nil turns throttling off. Telemetry
// already held is released when due.
func (h *Hook) SetThrottle(l *throttle.Limiter) { h.limiter.Store(l) }

// Throttle returns the limiter in force, or nil.
func (h *Hook) Throttle() *throttle.Limiter { return h.limiter.Load() }

// admitConnect counts an authenticated CONNECT against the new-connection
// rate.
func (h *Hook) admitConnect() error {
	lim := h.Throttle()
	if lim == nil {
		return nil
	}
	_, err := lim.Admit(h.cfg.Now(), throttle.Connect, 1)
	return err
}

// admitTwin counts a twin request against class c; refused, it answers
// the request with IoT Hub's status and error body and returns false.
func (h *Hook) admitTwin(cl *mqtt.Client, rid string, c throttle.Class) bool {
	lim := h.Throttle()
	if lim == nil {
		return true
	}
	_, err := lim.Admit(h.cfg.Now(), c, 1)
	if err == nil {
		return true
	}
	te := &throttle.Error{Status: 500, Code: 500001, Message: "internal error"}
	if !errors.As(err, &te) {
		h.cfg.Logger.Error("twin request", "device", cl.ID, "err", err)
	}
	h.cfg.Logger.Info("twin request refused", "device", cl.ID, "class", c, "code", te.Code)
	h.reply(cl, FilterTwinResponses, topic.TwinResponse(te.Status, rid, 0), te.Body())
	return false
}

// charge meters an operation of size bytes against the daily quota.
func (h *Hook) charge(size int) {
	if lim := h.Throttle(); lim != nil {
		lim.Charge(h.cfg.Now(), size)
	}
}

// heldMessage is telemetry traffic shaping holds until due.
type heldMessage struct {
	due    time.Time // release time, on the monotonic clock
	size   int       // metered size: body plus property bag
	pid    uint16
	qos    byte
	props  []topic.Prop
	body   []byte
	retain bool
}

// shapeTelemetry admits a telemetry message under the limiter. Admitted
// at once with nothing held before it, it is recorded and acknowledged now
// (CodeSuccessIgnore); admitted after a wait, or while older messages of
// the connection are held (order is kept), it is held and released by the
// connection's shaper (ErrRejectPacket: no PUBACK yet); refused, the
// connection is closed.
func (h *Hook) shapeTelemetry(lim *throttle.Limiter, c *conn, t topic.Topic, pk packets.Packet) error {
	wait, err := lim.Admit(h.cfg.Now(), throttle.D2C, 1)
	if err != nil {
		h.cfg.Logger.Warn("closing connection: telemetry refused", "device", c.cl.ID, "reason", err.Error())
		c.cl.Stop(&violation{reason: err.Error()})
		return packets.ErrRejectPacket
	}
	m := heldMessage{due: time.Now().Add(wait), size: messageSize(pk), pid: pk.PacketID, qos: pk.FixedHeader.Qos,
		props: t.Props, body: pk.Payload, retain: pk.FixedHeader.Retain}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.stopped:
		return packets.ErrRejectPacket
	case wait == 0 && len(c.held) == 0:
		h.recordHeldLocked(c, m)
		return packets.CodeSuccessIgnore
	}
	m.body = clone(m.body)
	c.held = append(c.held, m)
	if len(c.held) == 1 {
		h.armShaperLocked(c, time.Until(m.due))
	}
	return packets.ErrRejectPacket
}

// recordHeldLocked records and meters a released message; the caller
// holds c.mu, which keeps the connection's messages in order.
func (h *Hook) recordHeldLocked(c *conn, m heldMessage) {
	h.record(c, m.props, m.body, m.retain, false)
	h.charge(m.size)
}

func (h *Hook) armShaperLocked(c *conn, d time.Duration) {
	if c.shaper == nil {
		c.shaper = time.AfterFunc(d, func() { h.releaseHeld(c) })
		return
	}
	c.shaper.Reset(d)
}

// releaseHeld runs on the shaper's timer: it records the held messages
// that are due, oldest first, re-arms for the next and then acknowledges
// the released QoS 1 messages.
func (h *Hook) releaseHeld(c *conn) {
	var acks []uint16
	c.mu.Lock()
	now := time.Now()
	for len(c.held) > 0 && !c.held[0].due.After(now) {
		m := c.held[0]
		c.held[0] = heldMessage{}
		c.held = c.held[1:]
		h.recordHeldLocked(c, m)
		if m.qos > 0 {
			acks = append(acks, m.pid)
		}
	}
	if len(c.held) > 0 {
		c.shaper.Reset(c.held[0].due.Sub(now))
	}
	c.mu.Unlock()
	for _, pid := range acks {
		err := c.cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pid})
		if err != nil {
			h.cfg.Logger.Debug("PUBACK not written", "device", c.cl.ID, "err", err)
		}
	}
}
