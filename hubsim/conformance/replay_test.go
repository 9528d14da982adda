package conformance_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
	"github.com/cloudpillar/cloudpillar/internal/nodewire"
)

// The capture's hub and throwaway keys (wire/README.md).
const wireHost = "wirecap-hub.azure-devices.net"

var wireKeys = map[string]string{
	"dev-sas-01":       "nxFT9sFl/38S0dX7CUpJtzW16Hsv+VXEhc1zlI9BU3E=",
	"dev-pnp-01":       "VU7pN5wiwmQMJwd8WL7tdj8WQc/cBtWEPhyvryN7zZg=",
	"dev-sas-01/mod-a": "HtWsnCLf8g/mj1K1ZpMmnZA2HUlDvx/uA2hasAIehxU=",
}

// replay drives one hub through the capture's flows.
type replay struct {
	t     *testing.T
	h     *hubsim.Hub
	clock *atomic.Int64 // the hub's clock, Unix seconds
	x509  tls.Certificate
	wsURL string    // the hub's WebSocket handler on an HTTPS server
	ws    *wsClient // the current connection when the flow is over WebSockets
	w     *wireConn
	id    string
	rids  map[string]string // the capture's method $rid -> the hub's
	pids  map[uint16]uint16 // the capture's C2D packet id -> the hub's
	calls map[string]chan result
	stop  context.CancelFunc
	ctx   context.Context
}

func newReplay(t *testing.T) *replay {
	var clock atomic.Int64
	h := hubtest.NewHub(t, hubsim.Config{HostName: wireHost, KeepEvents: true,
		Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
	clock.Store(time.Now().Unix())
	for _, id := range []string{"dev-sas-01", "dev-pnp-01", "dev-sas-01/mod-a"} {
		_, err := h.AddDevice(registry.Device{ID: id, Auth: registry.AuthSAS,
			SymmetricKey: registry.SymmetricKey{PrimaryKey: wireKeys[id]}})
		must(t, err)
	}
	return &replay{t: t, h: h, clock: &clock, x509: hubtest.Device(t, h, "dev-x509-01"), wsURL: wsServer(t, h)}
}

// TestReplayNodeSDKPackets replays every client packet Microsoft's Node SDK
// sent to the hub (PROTOCOL.md §11): each must be accepted (the answer the
// capture shows comes back; nothing else closes the connection) and
// understood (telemetry recorded with its properties, twin and method
// answers delivered, C2D completed). Where the hub chooses an id (method
// $rid, C2D packet id) the device's answer is rewritten to the hub's id;
// every other byte is as captured. The WebSocket flow goes through the
// hub's WebSocket handler, each packet split into as many messages as
// MQTT.js sent. DPS flows are left to hubsim/dps.
func TestReplayNodeSDKPackets(t *testing.T) {
	recs, err := nodewire.Records()
	must(t, err)
	r := newReplay(t)
	var flows []string
	byFlow := map[string][]nodewire.Record{}
	for _, rec := range recs {
		if _, ok := byFlow[rec.Flow]; !ok {
			flows = append(flows, rec.Flow)
		}
		byFlow[rec.Flow] = append(byFlow[rec.Flow], rec)
	}
	for _, flow := range flows {
		t.Run(flow, func(t *testing.T) {
			if byFlow[flow][0].Endpoint != "hub" {
				t.Skip("DPS flow: the DPS endpoint (hubsim/dps) is not the hub's MQTT")
			}
			r.t = t
			r.flow(byFlow[flow])
		})
	}
}

func (r *replay) flow(recs []nodewire.Record) {
	for conn := 1; ; conn++ {
		var cur []nodewire.Record
		for _, rec := range recs {
			if rec.Conn == conn {
				cur = append(cur, rec)
			}
		}
		if len(cur) == 0 {
			return
		}
		r.connection(cur)
	}
}

// connection replays one connection's packets in capture order.
func (r *replay) connection(recs []nodewire.Record) {
	r.id = recs[0].ClientID
	r.rids, r.pids, r.calls = map[string]string{}, map[uint16]uint16{}, map[string]chan result{}
	r.ctx, r.stop = context.WithCancel(context.Background())
	defer r.stop()
	r.setClock(recs[0])
	cfg := &tls.Config{RootCAs: r.h.CA().Pool(), ServerName: wireHost}
	if recs[0].Password == nil {
		cfg.Certificates = []tls.Certificate{r.x509}
	}
	r.ws = nil
	if recs[0].Transport == "wss" {
		r.ws = dialWebSocket(r.t, r.wsURL, cfg)
		r.w = newWireConn(r.t, r.ws)
	} else {
		r.w = dialWire(r.t, r.h.MQTTAddr(), cfg)
	}
	for _, rec := range recs {
		if rec.Dir == "c2s" {
			r.client(rec)
		} else {
			r.server(rec)
		}
	}
	r.w.close()
	if recs[0].Type == "connect" && recs[1].ReturnCode == 0 {
		hubtest.Eventually(r.t, waitFor, func() bool { return !r.h.Connected(r.id) }, "%s still connected", r.id)
	}
}

// setClock puts the hub's clock inside the token's validity (the capture's
// tokens expired long ago, some lived 5 s).
func (r *replay) setClock(connect nodewire.Record) {
	if connect.Password == nil {
		// X.509: the certificate was made now, so the hub's clock must be
		// now too, not a SAS flow's capture time (which made this test
		// fail once the wall clock passed the capture time plus an hour).
		r.clock.Store(time.Now().Unix())
		return
	}
	tok, err := sas.Parse(*connect.Password)
	must(r.t, err)
	r.clock.Store(tok.ExpiresAt.Add(-4 * time.Second).Unix())
}

// client sends one captured packet (with the hub's ids where it chose
// them) and checks what the hub made of it.
func (r *replay) client(rec nodewire.Record) {
	raw := rawPacket(r.t, rec)
	switch {
	case rec.Type == "puback":
		if pid, ok := r.pids[rec.MessageID]; ok {
			raw = []byte{0x40, 2, byte(pid >> 8), byte(pid)}
		}
	case rec.Type == "publish" && strings.HasPrefix(rec.Topic, "$iothub/methods/res/"):
		raw = r.methodResponse(rec, raw)
	}
	if r.ws != nil {
		r.ws.parts = rec.WSMessages.Count // as many WebSocket messages as MQTT.js used
	}
	r.w.send(raw)
	switch rec.Type {
	case "disconnect":
		r.w.waitClosed("DISCONNECT")
	case "publish":
		r.understood(rec)
	}
}

func (r *replay) methodResponse(rec nodewire.Record, raw []byte) []byte {
	name, capRID, _ := strings.Cut(rec.Topic, "/?$rid=")
	ours, ok := r.rids[capRID]
	if !ok {
		r.t.Fatalf("method response to $rid %s the hub never sent", capRID)
	}
	return encodePublish(raw[0], name+"/?$rid="+ours, 0, rec.Payload())
}

// understood checks the effect of a device publish.
func (r *replay) understood(rec nodewire.Record) {
	t, err := topic.Parse(rec.Topic)
	must(r.t, err)
	switch t.Kind {
	case topic.KindTelemetry:
		r.telemetry(rec, t)
	case topic.KindMethodResponse:
		capRID := t.RID
		res := <-r.calls[capRID]
		delete(r.calls, capRID)
		if res.err != nil || res.status != t.Status || string(res.body) != string(rec.Payload()) {
			r.t.Fatalf("InvokeMethod answered %+v, device sent %d %q", res, t.Status, rec.Payload())
		}
	}
}

func (r *replay) telemetry(rec nodewire.Record, t topic.Topic) {
	mid, _ := t.Prop("$.mid")
	hubtest.Eventually(r.t, waitFor, func() bool {
		for _, e := range r.h.Events().Events() {
			if e.DeviceID == t.DeviceID && e.ModuleID == t.ModuleID && e.MessageID == mid && string(e.Body) == string(rec.Payload()) {
				for _, p := range t.Props {
					if e.Properties[p.Key] != p.Value {
						r.t.Fatalf("event property %q = %q, topic says %q", p.Key, e.Properties[p.Key], p.Value)
					}
				}
				return true
			}
		}
		return false
	}, "telemetry %q of %s not recorded", mid, rec.Flow)
}

// server handles a packet the recorder sent: a response is expected from
// the hub, a request is made through the hub's API first.
func (r *replay) server(rec nodewire.Record) {
	switch rec.Type {
	case "connack":
		p := r.w.expect("CONNACK", func(p packet) bool { return p.typ == pConnack })
		if p.codes[1] != rec.ReturnCode {
			r.t.Fatalf("CONNACK %d, want %d", p.codes[1], rec.ReturnCode)
		}
		if rec.ReturnCode != 0 {
			r.w.waitClosed("a refused CONNECT")
			return
		}
		// The hub records the connection right after writing CONNACK; the
		// capture's server-side calls came later than that.
		hubtest.Eventually(r.t, waitFor, func() bool { return r.h.Connected(r.id) }, "%s not connected after CONNACK", r.id)
	case "suback":
		p := r.w.expect("SUBACK "+strconv.Itoa(int(rec.MessageID)), func(p packet) bool { return p.typ == pSuback && p.pid == rec.MessageID })
		if string(p.codes) != string(rec.Granted) {
			r.t.Fatalf("SUBACK granted %v, want %v", p.codes, rec.Granted)
		}
	case "puback":
		r.w.expect("PUBACK "+strconv.Itoa(int(rec.MessageID)), func(p packet) bool { return p.typ == pPuback && p.pid == rec.MessageID })
	case "pingresp":
		r.w.expect("PINGRESP", func(p packet) bool { return p.typ == pPingresp })
	case "publish":
		r.serverPublish(rec)
	}
	if strings.Contains(rec.ServerAction, "closed the TLS connection") {
		r.w.close() // the drop: from the hub's side the device vanished
	}
}

func (r *replay) serverPublish(rec nodewire.Record) {
	t, err := topic.Parse(rec.Topic)
	must(r.t, err)
	prefix := rec.Topic
	switch t.Kind {
	case topic.KindTwinResponse:
		prefix = "$iothub/twin/res/" + strconv.Itoa(t.Status) + "/?$rid=" + t.RID
	case topic.KindMethodRequest:
		prefix = r.callMethod(rec, t)
	case topic.KindDesiredPatch:
		prefix = r.patchDesired(rec)
	case topic.KindC2D:
		prefix = r.sendC2D(t, rec)
	case topic.KindModuleInput:
		r.t.Logf("skipped %s: hubsim has no module-input routing (IoT Edge)", rec.Topic)
		return
	}
	p := r.w.expect("PUBLISH "+prefix, func(p packet) bool { return p.typ == pPublish && strings.HasPrefix(p.topic, prefix) })
	switch t.Kind {
	case topic.KindMethodRequest:
		r.rids[t.RID] = strings.TrimPrefix(p.topic, prefix)
	case topic.KindC2D:
		r.pids[rec.MessageID] = p.pid
	case topic.KindTwinResponse:
		if t.Status == 200 && !json.Valid(p.payload) {
			r.t.Fatalf("twin document %q is not JSON", p.payload)
		}
	}
}

func (r *replay) callMethod(rec nodewire.Record, t topic.Topic) string {
	ch := make(chan result, 1)
	r.calls[t.RID] = ch
	go func(payload []byte) {
		st, body, err := r.h.InvokeMethod(r.ctx, r.id, t.Method, payload, 30*time.Second)
		ch <- result{st, body, err}
	}(rec.Payload())
	return "$iothub/methods/POST/" + t.Method + "/?$rid="
}

func (r *replay) patchDesired(rec nodewire.Record) string {
	var m map[string]any
	must(r.t, json.Unmarshal(rec.Payload(), &m))
	delete(m, "$version")
	b, _ := json.Marshal(m)
	_, err := r.h.UpdateDesired(r.id, b)
	must(r.t, err)
	return "$iothub/twin/PATCH/properties/desired/?$version="
}

func (r *replay) sendC2D(t topic.Topic, rec nodewire.Record) string {
	m := c2d.Message{Properties: map[string]string{}, Body: rec.Payload()}
	for _, p := range t.Props {
		switch p.Key {
		case "$.mid":
			m.MessageID = p.Value
		case "$.cid":
			m.CorrelationID = p.Value
		case "$.ct":
			m.ContentType = p.Value
		case "$.ce":
			m.ContentEncoding = p.Value
		case "$.exp":
			m.ExpiryTime, _ = time.Parse(time.RFC3339, p.Value)
		case "iothub-ack":
			m.Ack = c2d.Ack(p.Value)
		case "$.to":
		default:
			m.Properties[p.Key] = p.Value
		}
	}
	must(r.t, r.h.SendC2D(r.id, m))
	return topic.C2D(r.id, []topic.Prop{{Key: "$.mid", Value: m.MessageID}})
}
