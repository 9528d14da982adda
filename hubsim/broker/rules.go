package broker

import (
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

// violation is why the hub closes a connection. It wraps
// packets.ErrRejectPacket: returned from OnPacketRead, it makes mochi end
// the connection (the hub's answer to errors over MQTT, PROTOCOL.md §1.5).
type violation struct{ reason string }

func (v *violation) Error() string { return "iothub: " + v.reason }
func (v *violation) Unwrap() error { return packets.ErrRejectPacket }

// OnPacketRead enforces the hub's rules on each packet before mochi
// handles it, and catches the PUBACKs of C2D deliveries.
func (h *Hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	var v *violation
	switch pk.FixedHeader.Type {
	case packets.Connect:
		return h.checkWill(pk), nil
	case packets.Publish:
		v = h.checkPublish(cl, pk)
	case packets.Subscribe:
		v = h.checkSubscribe(cl, pk)
	case packets.Puback:
		h.c2dAcked(cl, pk.PacketID)
	}
	if v == nil {
		return pk, nil
	}
	h.cfg.Logger.Warn("closing connection", "device", cl.ID, "remote", cl.Net.Remote, "reason", v.reason)
	return pk, v
}

// checkPublish: QoS 0 or 1 only, at most MaxMessageSize, and (unless
// IgnoreUnknownTopics) only the identity's own documented topics.
func (h *Hook) checkPublish(cl *mqtt.Client, pk packets.Packet) *violation {
	if pk.FixedHeader.Qos > 1 {
		return &violation{reason: "PUBLISH with QoS 2"}
	}
	if n := messageSize(pk); n > h.cfg.MaxMessageSize {
		return &violation{reason: "message of " + itoa(n) + " bytes is over the limit"}
	}
	if !h.cfg.IgnoreUnknownTopics && !topic.PublishAllowed(cl.ID, pk.TopicName) {
		return &violation{reason: "publish to topic " + quote(pk.TopicName) + " not allowed"}
	}
	return nil
}

// messageSize is what counts against the D2C limit: body plus the property
// bag of a telemetry topic.
func messageSize(pk packets.Packet) int {
	const events = "/messages/events"
	n := len(pk.Payload)
	if i := strings.Index(pk.TopicName, events); i >= 0 {
		n += len(strings.TrimPrefix(pk.TopicName[i+len(events):], "/"))
	}
	return n
}

// checkSubscribe: every filter must be one the identity may use, unless
// IgnoreUnknownTopics (then OnACLCheck refuses it with 0x80).
func (h *Hook) checkSubscribe(cl *mqtt.Client, pk packets.Packet) *violation {
	if h.cfg.IgnoreUnknownTopics {
		return nil
	}
	for _, f := range pk.Filters {
		if !topic.FilterAllowed(cl.ID, f.Filter) {
			return &violation{reason: "subscription to " + quote(f.Filter) + " not allowed"}
		}
	}
	return nil
}

// checkWill: a will is allowed only on the identity's own telemetry topic;
// any other will is dropped. RETAIN is ignored and QoS capped at 1, as for
// publishes.
func (h *Hook) checkWill(pk packets.Packet) packets.Packet {
	if !pk.Connect.WillFlag {
		return pk
	}
	pk.Connect.WillRetain = false
	pk.Connect.WillQos = min(pk.Connect.WillQos, 1)
	t, err := topic.Parse(pk.Connect.WillTopic)
	if err != nil || t.Kind != topic.KindTelemetry || !topic.PublishAllowed(pk.Connect.ClientIdentifier, pk.Connect.WillTopic) {
		h.cfg.Logger.Warn("will dropped: only the device's telemetry topic is allowed",
			"client", pk.Connect.ClientIdentifier, "topic", pk.Connect.WillTopic)
		pk.Connect.WillFlag = false
	}
	return pk
}

// OnACLCheck: publishes were vetted in OnPacketRead (and OnPublish drops
// the rest). A filter is allowed if documented for the identity and within
// the distinct-filter limit (a repeated filter does not count again,
// wire/README.md obs. 13); a delivery only to the identity's own topics.
func (h *Hook) OnACLCheck(cl *mqtt.Client, name string, write bool) bool {
	if write {
		return true
	}
	if topic.FilterAllowed(cl.ID, name) {
		if _, ok := cl.State.Subscriptions.Get(name); ok {
			return true
		}
		if cl.State.Subscriptions.Len() >= h.cfg.MaxSubscriptions {
			h.cfg.Logger.Warn("subscription refused: limit reached", "device", cl.ID, "filter", name,
				"limit", h.cfg.MaxSubscriptions)
			return false
		}
		return true
	}
	return topic.Delivery(cl.ID, name)
}

func quote(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return `"` + s + `"`
}
