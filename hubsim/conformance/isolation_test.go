package conformance_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// TestDeviceBNeverSeesDeviceATraffic (DESIGN.md decision 2): B holds every
// subscription a device may hold (including the any-device C2D filter
// azure-sdk-for-c uses) while A gets a twin response, a desired patch, a
// method call and a C2D message. Then B does the same for itself: had any
// of A's traffic leaked, it would have reached B's connection first.
func TestDeviceBNeverSeesDeviceATraffic(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	var boxA, boxB inbox
	a := hubtest.Connect(t, hubtest.RawOptions(h, "dev-a", hubtest.Device(t, h, "dev-a")))
	b := hubtest.Connect(t, hubtest.RawOptions(h, "dev-b", hubtest.Device(t, h, "dev-b")))
	for _, f := range []string{"$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#",
		"devices/+/messages/devicebound/#"} {
		subscribe(t, a, f, 1, boxA.handler)
		subscribe(t, b, f, 1, boxB.handler)
	}
	exercise := func(id string, box *inbox, publish func(string, string)) {
		t.Helper()
		publish("$iothub/twin/GET/?$rid="+id, " ")
		box.wait(t, "$iothub/twin/res/200/?$rid="+id)
		_, err := h.UpdateDesired(id, []byte(`{"secret":"`+id+`"}`))
		must(t, err)
		box.wait(t, "$iothub/twin/PATCH/properties/desired/")
		res := invoke(h, id, "secret-"+id, nil, 5*time.Second)
		m := box.wait(t, "$iothub/methods/POST/secret-"+id+"/")
		publish(strings.Replace(m.Topic(), "POST/secret-"+id+"/", "res/200/", 1), "null")
		if r := <-res; r.err != nil {
			t.Fatalf("method on %s: %v", id, r.err)
		}
		must(t, h.SendC2D(id, c2dMsg("c2d-"+id)))
		box.wait(t, "devices/"+id+"/messages/devicebound/")
	}
	exercise("dev-a", &boxA, func(topic, body string) { must(t, hubtest.Wait(a.Publish(topic, 0, false, body))) })
	exercise("dev-b", &boxB, func(topic, body string) { must(t, hubtest.Wait(b.Publish(topic, 0, false, body))) })
	for _, m := range boxB.all() {
		if strings.Contains(m.Topic(), "dev-a") || strings.Contains(string(m.Payload()), "dev-a") ||
			strings.Contains(m.Topic(), "rid=dev-a") {
			t.Errorf("device B received A's %s: %s", m.Topic(), m.Payload())
		}
	}
	if n := len(boxB.all()); n != 4 {
		t.Errorf("device B received %d messages, want its own 4: %q", n, boxB.topics())
	}
}
