package conformance_test

import (
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// sessionClient connects a raw client with the given clean-session flag
// whose messages (subscribed now or inherited from the session) land in box.
func sessionClient(t *testing.T, h *hubsim.Hub, id string, clean bool, box *inbox) paho.Client {
	o := hubtest.RawOptions(h, id, hubtest.Cert(t, h.CA(), id))
	o.SetCleanSession(clean)
	o.SetDefaultPublishHandler(box.handler) // inherited subscriptions have no handler on this client
	return hubtest.Connect(t, o)
}

// TestPersistentSessionKeepsSubscriptionsAcrossReconnects (PROTOCOL.md
// §1.6, wire/README.md obs. 14-15): a CleanSession=0 device that reconnects
// without subscribing again still gets desired patches, method calls,
// twin responses, and the C2D queued while it was away.
func TestPersistentSessionKeepsSubscriptionsAcrossReconnects(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	hubtest.Device(t, h, "dev-1")
	var first inbox
	c := sessionClient(t, h, "dev-1", false, &first)
	for _, f := range []string{"$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#",
		"$iothub/methods/POST/#", "devices/dev-1/messages/devicebound/#"} {
		subscribe(t, c, f, 1, first.handler)
	}
	c.Disconnect(100)
	hubtest.Eventually(t, waitFor, func() bool { return !h.Connected("dev-1") }, "device still connected")
	must(t, h.SendC2D("dev-1", c2dMsg("while-away")))

	var box inbox
	c = sessionClient(t, h, "dev-1", false, &box)
	box.wait(t, "devices/dev-1/messages/devicebound/%24.mid=while-away")
	_, err := h.UpdateDesired("dev-1", []byte(`{"x":1}`))
	must(t, err)
	box.wait(t, "$iothub/twin/PATCH/properties/desired/?$version=")
	res := invoke(h, "dev-1", "ping", nil, 5*time.Second)
	m := box.wait(t, "$iothub/methods/POST/ping/")
	must(t, hubtest.Wait(c.Publish(strings.Replace(m.Topic(), "POST/ping/", "res/200/", 1), 0, false, "null")))
	if r := <-res; r.err != nil || r.status != 200 {
		t.Fatalf("method over the kept session: %+v", r)
	}
	must(t, hubtest.Wait(c.Publish("$iothub/twin/GET/?$rid=g", 0, false, " ")))
	box.wait(t, "$iothub/twin/res/200/?$rid=g")
	hubtest.Eventually(t, waitFor, func() bool { return h.C2DQueueLength("dev-1") == 0 }, "C2D not completed")
}

// TestCleanSessionForgetsSubscriptions: with CleanSession=1 nothing
// arrives until the device subscribes again; queued C2D waits for that.
func TestCleanSessionForgetsSubscriptions(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	hubtest.Device(t, h, "dev-1")
	var first inbox
	c := sessionClient(t, h, "dev-1", true, &first)
	subscribe(t, c, "$iothub/methods/POST/#", 0, first.handler)
	subscribe(t, c, "devices/dev-1/messages/devicebound/#", 1, first.handler)
	c.Disconnect(100)
	hubtest.Eventually(t, waitFor, func() bool { return !h.Connected("dev-1") }, "device still connected")
	must(t, h.SendC2D("dev-1", c2dMsg("queued")))

	var box inbox
	c = sessionClient(t, h, "dev-1", true, &box)
	if r := <-invoke(h, "dev-1", "ping", nil, time.Second); r.err == nil {
		t.Fatal("method call reached a clean session that never subscribed")
	}
	if got := box.topics(); len(got) != 0 {
		t.Fatalf("clean session received %q before subscribing", got)
	}
	subscribe(t, c, "devices/dev-1/messages/devicebound/#", 1, box.handler)
	box.wait(t, "devices/dev-1/messages/devicebound/%24.mid=queued")
}
