package conformance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/hubsim/methods"
)

// invoke runs InvokeMethod in the background.
func invoke(h *hubsim.Hub, id, name string, payload []byte, timeout time.Duration) <-chan result {
	out := make(chan result, 1)
	go func() {
		st, resp, err := h.InvokeMethod(context.Background(), id, name, payload, timeout)
		out <- result{st, resp, err}
	}()
	return out
}

type result struct {
	status int
	body   []byte
	err    error
}

// TestMethodErrors (PROTOCOL.md §4): 404001 unknown device, 404103 not
// connected or not subscribed, 504101 no answer in time.
func TestMethodErrors(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	hubtest.Device(t, h, "offline")
	unsub := hubtest.Connect(t, hubtest.RawOptions(h, "unsubscribed", hubtest.Device(t, h, "unsubscribed")))
	_ = unsub
	silent := hubtest.Connect(t, hubtest.RawOptions(h, "silent", hubtest.Device(t, h, "silent")))
	subscribe(t, silent, "$iothub/methods/POST/#", 0, nil)
	tests := []struct {
		id     string
		want   error
		status int
	}{
		{"ghost", methods.ErrDeviceNotFound, 404},
		{"offline", methods.ErrDeviceNotOnline, 404},
		{"unsubscribed", methods.ErrDeviceNotOnline, 404},
		{"silent", methods.ErrGatewayTimeout, 504},
	}
	for _, tc := range tests {
		_, _, err := h.InvokeMethod(context.Background(), tc.id, "reboot", nil, 200*time.Millisecond)
		var e *methods.Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Status != tc.status {
			t.Errorf("InvokeMethod(%s) = %v, want %v", tc.id, err, tc.want)
		}
	}
	if n := h.Registry().ConnectedCount(); n != 2 {
		t.Fatalf("ConnectedCount = %d", n)
	}
}

// TestMethodRequestWireFormat: QoS 0 on `$iothub/methods/POST/{name}/?$rid=`,
// an empty payload sent as `null` (wire/README.md obs. 26), the device's
// status and body returned as is.
func TestMethodRequestWireFormat(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	var box inbox
	subscribe(t, c, "$iothub/methods/POST/#", 1, box.handler)
	res := invoke(h, "dev-1", "thermostat1*getMaxMinReport", nil, 5*time.Second)
	m := box.wait(t, "$iothub/methods/POST/thermostat1*getMaxMinReport/?$rid=")
	if m.Qos() != 0 || string(m.Payload()) != "null" {
		t.Fatalf("request QoS %d payload %q, want QoS 0 and null", m.Qos(), m.Payload())
	}
	rid := strings.TrimPrefix(m.Topic(), "$iothub/methods/POST/thermostat1*getMaxMinReport/?$rid=")
	must(t, hubtest.Wait(c.Publish("$iothub/methods/res/418/?$rid="+rid, 1, false, `{"teapot":true}`)))
	r := <-res
	if r.err != nil || r.status != 418 || string(r.body) != `{"teapot":true}` {
		t.Fatalf("InvokeMethod = %+v", r)
	}
}

// TestMethodResponseCountsOnlyFromTheCalledConnection: another device
// echoing the $rid, and the device's own response to a request it was
// never sent, do not complete the call.
func TestMethodResponseCountsOnlyFromTheCalledConnection(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	a := hubtest.Connect(t, hubtest.RawOptions(h, "dev-a", hubtest.Device(t, h, "dev-a")))
	b := hubtest.Connect(t, hubtest.RawOptions(h, "dev-b", hubtest.Device(t, h, "dev-b")))
	var boxA, boxB inbox
	subscribe(t, a, "$iothub/methods/POST/#", 0, boxA.handler)
	subscribe(t, b, "$iothub/methods/POST/#", 0, boxB.handler)
	res := invoke(h, "dev-a", "m", []byte(`1`), 5*time.Second)
	m := boxA.wait(t, "$iothub/methods/POST/m/?$rid=")
	rid := strings.TrimPrefix(m.Topic(), "$iothub/methods/POST/m/?$rid=")
	// QoS 1: the PUBACK comes after the hub handled each forgery.
	must(t, hubtest.Wait(b.Publish("$iothub/methods/res/200/?$rid="+rid, 1, false, `"forged"`)))
	must(t, hubtest.Wait(a.Publish("$iothub/methods/res/200/?$rid=999999", 1, false, `"unasked"`)))
	select {
	case r := <-res:
		t.Fatalf("call completed by a response it did not send: %+v", r)
	default:
	}
	must(t, hubtest.Wait(a.Publish("$iothub/methods/res/200/?$rid="+rid, 0, false, `"real"`)))
	if r := <-res; r.err != nil || string(r.body) != `"real"` {
		t.Fatalf("InvokeMethod = %+v", r)
	}
	if got := boxB.topics(); len(got) != 0 {
		t.Fatalf("device B received %q", got)
	}
	if n := h.PendingMethodCalls(); n != 0 {
		t.Fatalf("%d calls still pending", n)
	}
}
