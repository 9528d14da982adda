package broker

import (
	"errors"
	"strconv"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/methods"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// Subscription filters the hub writes to (PROTOCOL.md §2).
const (
	FilterTwinResponses = topic.FilterTwinResponses
	FilterDesired       = topic.FilterDesired
	FilterMethods       = topic.FilterMethods
)

// OnPublish handles everything a device publishes. Nothing is routed
// through the broker: telemetry goes to the event log (before mochi sends
// the PUBACK, so an acknowledged message is always recorded; under
// throttling it may be held and acknowledged later, throttle.go), twin
// requests are answered on the asking connection only and method responses
// complete the call made on that connection.
func (h *Hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	t, err := topic.Parse(pk.TopicName)
	if err != nil {
		h.cfg.Logger.Warn("publish dropped", "device", cl.ID, "err", err)
		return pk, packets.CodeSuccessIgnore
	}
	switch t.Kind {
	case topic.KindTelemetry:
		return pk, h.recordTelemetry(cl, t, pk)
	case topic.KindTwinGet:
		h.twinGet(cl, t)
	case topic.KindTwinPatchReported:
		h.twinPatchReported(cl, t, pk.Payload)
	case topic.KindMethodResponse:
		h.cfg.Methods.Complete(cl, t.RID, methods.Result{Status: t.Status, Payload: clone(pk.Payload)})
	}
	return pk, packets.CodeSuccessIgnore
}

// recordTelemetry appends a D2C message to the event log, stamped with the
// properties the hub adds (PROTOCOL.md §2.1), and returns what OnPublish
// tells mochi: CodeSuccessIgnore to acknowledge now, ErrRejectPacket when
// the throttle holds or refuses the message (shapeTelemetry). A message on
// another identity's topic (possible only with IgnoreUnknownTopics) is
// dropped.
func (h *Hook) recordTelemetry(cl *mqtt.Client, t topic.Topic, pk packets.Packet) error {
	c := h.conn(cl.ID)
	if c == nil || t.DeviceID != c.deviceID || t.ModuleID != c.moduleID {
		return packets.CodeSuccessIgnore
	}
	if lim := h.Throttle(); lim != nil && c.cl == cl { // not a connection being taken over
		return h.shapeTelemetry(lim, c, t, pk)
	}
	h.record(c, t.Props, pk.Payload, pk.FixedHeader.Retain, false)
	return packets.CodeSuccessIgnore
}

func (h *Hook) record(c *conn, props []topic.Prop, body []byte, retain, will bool) {
	now := h.cfg.Now()
	e := eventlog.Event{DeviceID: c.deviceID, ModuleID: c.moduleID, EnqueuedTime: now}
	for _, p := range props {
		if p.Key == "$.mid" {
			e.MessageID = p.Value
			break
		}
	}
	if h.cfg.Events.Detailed() {
		e.Properties = c.stamp(props, now, retain, will)
		e.Body = clone(body)
	}
	h.cfg.Events.Append(e)
}

// stamp returns the message's properties plus those the hub adds.
func (c *conn) stamp(props []topic.Prop, now time.Time, retain, will bool) map[string]string {
	m := make(map[string]string, len(props)+8)
	for _, p := range props {
		m[p.Key] = p.Value
	}
	m[eventlog.PropDeviceID] = c.deviceID
	if c.moduleID != "" {
		m[eventlog.PropModuleID] = c.moduleID
	}
	m[eventlog.PropAuthMethod] = c.authMethod
	m[eventlog.PropGenerationID] = c.genID
	m[eventlog.PropEnqueuedTime] = now.UTC().Format(eventlog.TimeFormat)
	m[eventlog.PropSource] = eventlog.SourceTelemetry
	if c.modelID != "" {
		m[eventlog.PropDataSchema] = c.modelID
	}
	if retain {
		m[eventlog.PropRetain] = "true"
	}
	if will {
		m[eventlog.PropMessageType] = eventlog.MessageTypeWill
	}
	return m
}

// OnWillSent records a will (allowed only on the identity's telemetry
// topic, see checkWill) as telemetry with iothub-MessageType=Will.
func (h *Hook) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	t, err := topic.Parse(pk.TopicName)
	dev, mod := registry.Split(cl.ID)
	if err != nil || t.Kind != topic.KindTelemetry || t.DeviceID != dev || t.ModuleID != mod {
		return
	}
	c := h.conn(cl.ID) // after a takeover: the new connection, same identity
	if c == nil {
		c = &conn{deviceID: dev, moduleID: mod}
	}
	h.record(c, t.Props, pk.Payload, false, true)
}

func (h *Hook) twinGet(cl *mqtt.Client, t topic.Topic) {
	if !h.admitTwin(cl, t.RID, throttle.TwinReads) {
		return
	}
	doc, err := h.cfg.Twins.DeviceDoc(cl.ID)
	if err != nil {
		h.replyError(cl, t.RID, err)
		return
	}
	h.charge(len(doc))
	h.reply(cl, FilterTwinResponses, topic.TwinResponse(200, t.RID, 0), doc)
}

func (h *Hook) twinPatchReported(cl *mqtt.Client, t topic.Topic, body []byte) {
	if !h.admitTwin(cl, t.RID, throttle.TwinUpdates) {
		return
	}
	v, err := h.cfg.Twins.PatchReported(cl.ID, body)
	if err != nil {
		h.replyError(cl, t.RID, err)
		return
	}
	h.charge(len(body))
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
	return h.write(cl, 0, 0, name, payload)
}

// write writes one publish to cl.
func (h *Hook) write(cl *mqtt.Client, qos byte, pid uint16, name string, payload []byte) bool {
	err := cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos},
		PacketID:    pid,
		TopicName:   name,
		Payload:     payload,
	})
	if err != nil {
		h.cfg.Logger.Debug("publish not written", "device", cl.ID, "topic", name, "err", err)
		return false
	}
	return true
}

// NotifyDesired sends a desired-properties patch notification to the
// device's current connection. It reports false when the device is offline
// or not subscribed: IoT Hub never queues twin notifications (§1.6).
func (h *Hook) NotifyDesired(deviceID string, version int, patch []byte) bool {
	c := h.conn(deviceID)
	if c == nil {
		return false
	}
	return h.reply(c.cl, FilterDesired, topic.DesiredPatch(version), patch)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func itoa(n int) string { return strconv.Itoa(n) }
