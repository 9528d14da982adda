package broker

import (
	"errors"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// Subscription filters the hub writes to (PROTOCOL.md §2).
const (
	FilterTwinResponses = "$iothub/twin/res/#"
	FilterDesired       = "$iothub/twin/PATCH/properties/desired/#"
)

// OnPublish handles everything a device publishes. Nothing is routed
// through the broker: telemetry goes to the event log (before mochi sends
// the PUBACK, so an acknowledged message is always recorded) and twin
// requests are answered on the asking connection only.
func (h *Hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	t, err := topic.Parse(pk.TopicName)
	if err != nil {
		h.cfg.Logger.Warn("unparseable publish", "device", cl.ID, "err", err)
		return pk, packets.CodeSuccessIgnore
	}
	switch t.Kind {
	case topic.KindTelemetry:
		h.recordTelemetry(cl, t, pk.Payload)
	case topic.KindTwinGet:
		h.twinGet(cl, t)
	case topic.KindTwinPatchReported:
		h.twinPatchReported(cl, t, pk.Payload)
	}
	return pk, packets.CodeSuccessIgnore
}

func (h *Hook) recordTelemetry(cl *mqtt.Client, t topic.Topic, body []byte) {
	props := make(map[string]string, len(t.Props))
	for _, p := range t.Props {
		props[p.Key] = p.Value
	}
	mid, _ := t.Prop("$.mid")
	h.cfg.Events.Append(eventlog.Event{
		DeviceID:     cl.ID,
		MessageID:    mid,
		Properties:   props,
		Body:         append([]byte(nil), body...),
		EnqueuedTime: h.cfg.Now(),
	})
}

func (h *Hook) twinGet(cl *mqtt.Client, t topic.Topic) {
	doc, err := h.cfg.Twins.DeviceDoc(cl.ID)
	if err != nil {
		h.replyError(cl, t.RID, err)
		return
	}
	h.reply(cl, FilterTwinResponses, topic.TwinResponse(200, t.RID, 0), doc)
}

func (h *Hook) twinPatchReported(cl *mqtt.Client, t topic.Topic, body []byte) {
	v, err := h.cfg.Twins.PatchReported(cl.ID, body)
	if err != nil {
		h.replyError(cl, t.RID, err)
		return
	}
	if h.cfg.OnReported != nil {
		h.cfg.OnReported(cl.ID, v, body)
	}
	h.reply(cl, FilterTwinResponses, topic.TwinResponse(204, t.RID, v), nil)
}

func (h *Hook) replyError(cl *mqtt.Client, rid string, err error) {
	var te *twinstore.Error
	if !errors.As(err, &te) {
		te = &twinstore.Error{Status: 500, Code: 500001, Message: "internal error"}
		h.cfg.Logger.Error("twin request", "device", cl.ID, "err", err)
	}
	h.reply(cl, FilterTwinResponses, topic.TwinResponse(te.Status, rid, 0), te.Body())
}

// reply writes a QoS 0 publish to this connection only, and only if the
// device has subscribed to filter (IoT Hub drops responses otherwise).
// It reports whether the packet was written.
func (h *Hook) reply(cl *mqtt.Client, filter, name string, payload []byte) bool {
	if _, ok := cl.State.Subscriptions.Get(filter); !ok {
		return false
	}
	err := cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   name,
		Payload:     payload,
	})
	if err != nil {
		h.cfg.Logger.Debug("reply not written", "device", cl.ID, "topic", name, "err", err)
		return false
	}
	return true
}

// NotifyDesired sends a desired-properties patch notification to the
// device's current connection. It reports false when the device is offline
// or not subscribed: IoT Hub never queues twin notifications (§1.6).
func (h *Hook) NotifyDesired(deviceID string, version int, patch []byte) bool {
	cl := h.client(deviceID)
	if cl == nil {
		return false
	}
	return h.reply(cl, FilterDesired, topic.DesiredPatch(version), patch)
}
