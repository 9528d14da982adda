package broker

import (
	"sort"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

// c2dFilters are the C2D subscriptions a device may hold: its own, and the
// any-device form azure-sdk-for-c uses.
func c2dFilters(deviceID string) [2]string {
	return [2]string{"devices/" + deviceID + "/messages/devicebound/#", topic.FilterC2DAnyDevice}
}

// c2dQoS returns the QoS of the device's C2D subscription (capped at 1).
func c2dQoS(cl *mqtt.Client, deviceID string) (byte, bool) {
	for _, f := range c2dFilters(deviceID) {
		if sub, ok := cl.State.Subscriptions.Get(f); ok {
			return min(sub.Qos, 1), true
		}
	}
	return 0, false
}

// DeliverC2D writes the device's available C2D messages to its current
// connection, if it is connected and subscribed, and returns how many it
// wrote. With a QoS 1 subscription each stays locked until the device's
// PUBACK completes it; with QoS 0 it is complete once written.
func (h *Hook) DeliverC2D(deviceID string) int {
	c := h.conn(deviceID)
	if c == nil || h.cfg.C2D == nil || c.moduleID != "" {
		return 0
	}
	qos, ok := c2dQoS(c.cl, deviceID)
	if !ok {
		return 0
	}
	ds := h.cfg.C2D.Lock(deviceID, h.cfg.Now())
	if len(ds) > 0 && h.cfg.OnC2DLocked != nil {
		h.cfg.OnC2DLocked()
	}
	n := 0
	for _, d := range ds {
		if h.writeC2D(c, d, qos) {
			n++
		}
	}
	return n
}

// writeC2D writes one delivery. A failed write leaves the message locked:
// it is redelivered when the lock expires.
func (h *Hook) writeC2D(c *conn, d c2d.Delivery, qos byte) bool {
	var pid uint16
	if qos == 1 {
		pid = c.track(d.LockToken)
	}
	if !h.write(c.cl, qos, pid, topic.C2D(d.DeviceID, c2dBag(d)), d.Message.Body) {
		c.untrack(pid)
		return false
	}
	if qos == 0 {
		h.cfg.C2D.Complete(d.DeviceID, d.LockToken, h.cfg.Now())
	}
	return true
}

// c2dAcked completes the C2D delivery a device's PUBACK acknowledges.
func (h *Hook) c2dAcked(cl *mqtt.Client, pid uint16) {
	c := h.connOf(cl)
	if c == nil || h.cfg.C2D == nil {
		return
	}
	if tok, ok := c.untrack(pid); ok {
		h.cfg.C2D.Complete(c.deviceID, tok, h.cfg.Now())
	}
}

// OnPacketProcessed delivers queued C2D once a SUBSCRIBE to the C2D topic
// has been answered (so the SUBACK goes first).
func (h *Hook) OnPacketProcessed(cl *mqtt.Client, pk packets.Packet, err error) {
	if pk.FixedHeader.Type != packets.Subscribe || err != nil || h.cfg.C2D == nil {
		return
	}
	fs := c2dFilters(cl.ID)
	for _, f := range pk.Filters {
		if f.Filter == fs[0] || f.Filter == fs[1] {
			h.DeliverC2D(cl.ID)
			return
		}
	}
}

// c2dBag is the delivery's property bag (PROTOCOL.md §2.2): the system
// properties first, `$.to` always (amenzhinsky's SDK needs a `$.`
// property), then iothub-ack and the application properties by name.
func c2dBag(d c2d.Delivery) []topic.Prop {
	m := d.Message
	props := make([]topic.Prop, 0, 8+len(m.Properties))
	add := func(k, v string) {
		if v != "" {
			props = append(props, topic.Prop{Key: k, Value: v})
		}
	}
	add("$.mid", m.MessageID)
	add("$.cid", m.CorrelationID)
	add("$.uid", m.UserID)
	add("$.to", "/devices/"+d.DeviceID+"/messages/deviceBound")
	add("$.ct", m.ContentType)
	add("$.ce", m.ContentEncoding)
	if !m.ExpiryTime.IsZero() {
		add("$.exp", m.ExpiryTime.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if m.Ack != "" && m.Ack != c2d.AckNone {
		add("iothub-ack", string(m.Ack))
	}
	keys := make([]string, 0, len(m.Properties))
	for k := range m.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		props = append(props, topic.Prop{Key: k, Value: m.Properties[k]})
	}
	return props
}
