package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
)

// TestMethodsWithoutDeviceSide: with no InvokeMethod wired the call is a
// 501 in IoT Hub's error format (after validation and the device lookup).
func TestMethodsWithoutDeviceSide(t *testing.T) {
	th := newTestHub(t, Config{})
	th.owner("PUT", "/devices/d1", map[string]any{})
	expectError(t, "no InvokeMethod", th.owner("POST", "/twins/d1/methods", `{"methodName":"reboot"}`), 501, "NotImplemented")
	expectError(t, "unknown device", th.owner("POST", "/twins/nope/methods", `{"methodName":"reboot"}`), 404, "DeviceNotFound")
}

// TestMethods: the call reaches InvokeMethod with IoT Hub's defaults and
// limits; results and the documented failures map to REST (PROTOCOL.md §4
// "Invoke method").
func TestMethods(t *testing.T) {
	var mu sync.Mutex
	var calls []MethodCall
	invoke := func(_ context.Context, id string, c MethodCall) (MethodResult, error) {
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		switch c.Name {
		case "offline":
			return MethodResult{}, fmt.Errorf("device %s: %w", id, ErrDeviceNotOnline)
		case "slow":
			return MethodResult{}, ErrGatewayTimeout
		}
		return MethodResult{Status: 201, Payload: json.RawMessage(`{"echo":` + string(c.Payload) + `}`)}, nil
	}
	th := newTestHub(t, Config{InvokeMethod: invoke})
	th.owner("PUT", "/devices/d1", map[string]any{})
	r := th.do(th.client, "POST", "/twins/d1/methods", th.token("service"), `{"methodName":"reboot","payload":{"delay":5}}`)
	if r.status != 200 || string(r.body) != `{"status":201,"payload":{"echo":{"delay":5}}}`+"\n" {
		t.Fatalf("invoke = %d %s", r.status, r.body)
	}
	mu.Lock()
	got := calls[0]
	mu.Unlock()
	if got.ResponseTimeout != 30*time.Second || got.ConnectTimeout != 0 {
		t.Errorf("defaults: %+v", got)
	}
	th.owner("POST", "/twins/d1/methods", `{"methodName":"m","responseTimeoutInSeconds":5,"connectTimeoutInSeconds":300}`)
	mu.Lock()
	if c := calls[1]; c.ResponseTimeout != 5*time.Second || c.ConnectTimeout != 300*time.Second || string(c.Payload) != "null" {
		t.Errorf("explicit timeouts, no payload: %+v", c)
	}
	mu.Unlock()
	tests := []struct {
		body, errName string
		status        int
	}{
		{`{"methodName":"offline"}`, "DeviceNotOnline", 404},
		{`{"methodName":"slow"}`, "GatewayTimeout", 504},
		{`{"payload":1}`, "ArgumentInvalid", 400},
		{`{"methodName":"m","responseTimeoutInSeconds":4}`, "ArgumentInvalid", 400},
		{`{"methodName":"m","responseTimeoutInSeconds":301}`, "ArgumentInvalid", 400},
		{`{"methodName":"m","connectTimeoutInSeconds":301}`, "ArgumentInvalid", 400},
		{`{"methodName":`, "IotHubFormatError", 400},
	}
	for _, tc := range tests {
		expectError(t, tc.body, th.owner("POST", "/twins/d1/methods", tc.body), tc.status, tc.errName)
	}
}

// TestSimEventsAndC2D: /_sim/ lists a device's recorded events (text or
// base64 bodies, system and application properties) and sends C2D through
// SendC2D.
func TestSimEventsAndC2D(t *testing.T) {
	var mu sync.Mutex
	var sent []C2DMessage
	send := func(id string, m C2DMessage) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, m)
		return nil
	}
	th := newTestHub(t, Config{SendC2D: send})
	th.owner("PUT", "/devices/d1", map[string]any{})
	now := time.Now()
	th.events.Append(eventlog.Event{DeviceID: "d1", MessageID: "m1", Body: []byte(`{"t":1}`), EnqueuedTime: now,
		Properties: map[string]string{"$.mid": "m1", "$.ct": "application/json", "site": "boston"}})
	th.events.Append(eventlog.Event{DeviceID: "d2", MessageID: "x", Body: []byte("other")})
	th.events.Append(eventlog.Event{DeviceID: "d1", MessageID: "m2", Body: []byte{0xff, 0x00}, EnqueuedTime: now})
	var evs []eventJSON
	r := th.owner("GET", "/_sim/devices/d1/events", nil)
	r.decode(t, &evs)
	if len(evs) != 2 || deref(evs[0].Body) != `{"t":1}` || evs[0].Properties["site"] != "boston" ||
		evs[0].SystemProperties["content-type"] != "application/json" || evs[0].SystemProperties["message-id"] != "m1" ||
		deref(evs[1].BodyBase64) != "/wA=" || evs[1].Body != nil {
		t.Fatalf("events = %s", r.body)
	}
	th.owner("GET", "/_sim/devices/d1/events?after=1", nil).decode(t, &evs)
	if len(evs) != 1 || evs[0].MessageID != "m2" {
		t.Fatalf("events after 1 = %+v", evs)
	}
	for _, body := range []string{`{"body":"hello","properties":{"a":"b"},"messageId":"c1"}`, `{"body":{"json":true}}`, `{"bodyBase64":"/wA="}`} {
		if r := th.owner("POST", "/_sim/devices/d1/messages", body); r.status != 202 {
			t.Fatalf("send %s = %d %s", body, r.status, r.body)
		}
	}
	mu.Lock()
	if len(sent) != 3 || string(sent[0].Body) != "hello" || sent[0].Properties["a"] != "b" || sent[0].MessageID != "c1" ||
		string(sent[1].Body) != `{"json":true}` || string(sent[2].Body) != "\xff\x00" {
		t.Errorf("sent = %+v", sent)
	}
	mu.Unlock()
	expectError(t, "C2D to unknown", th.owner("POST", "/_sim/devices/nope/messages", `{"body":"x"}`), 404, "DeviceNotFound")
	expectError(t, "bad base64", th.owner("POST", "/_sim/devices/d1/messages", `{"bodyBase64":"!"}`), 400, "ArgumentInvalid")

	plain := newTestHub(t, Config{})
	plain.owner("PUT", "/devices/d1", map[string]any{})
	r = plain.owner("POST", "/_sim/devices/d1/messages", `{"body":"x"}`)
	expectError(t, "no SendC2D", r, 501, "NotImplemented")
	if !strings.Contains(string(r.body), "cloud-to-device") {
		t.Errorf("501 body = %s", r.body)
	}
}
