package conformance_test

import (
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// bystander is a connected device that must not notice another device's
// violation: its connection stays open and it still gets twin responses.
type bystander struct {
	c   paho.Client
	box *inbox
	n   int
}

func newBystander(t *testing.T, h *hubsim.Hub) *bystander {
	b := &bystander{box: &inbox{}}
	b.c = hubtest.Connect(t, hubtest.RawOptions(h, "bystander", hubtest.Device(t, h, "bystander")))
	subscribe(t, b.c, "$iothub/twin/res/#", 0, b.box.handler)
	return b
}

func (b *bystander) check(t *testing.T) {
	t.Helper()
	b.n++
	rid := "by" + string(rune('a'+b.n))
	if !b.c.IsConnectionOpen() {
		t.Fatal("the bystander's connection was closed")
	}
	must(t, hubtest.Wait(b.c.Publish("$iothub/twin/GET/?$rid="+rid, 0, false, "")))
	b.box.wait(t, "$iothub/twin/res/200/?$rid="+rid)
}

// TestViolationsCloseOnlyTheOffendersConnection (PROTOCOL.md §1.5): each
// of these closes the connection, QoS 0 included, and records nothing.
func TestViolationsCloseOnlyTheOffendersConnection(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	by := newBystander(t, h)
	hubtest.Device(t, h, "other")
	cert := hubtest.Device(t, h, "dev-1")
	tests := []struct {
		name string
		act  func(c paho.Client)
	}{
		{"PUBLISH with QoS 2", func(c paho.Client) { c.Publish("devices/dev-1/messages/events/", 2, false, "x") }},
		{"QoS 0 to another device's telemetry", func(c paho.Client) { c.Publish("devices/other/messages/events/", 0, false, "x") }},
		{"QoS 1 to another device's telemetry", func(c paho.Client) { c.Publish("devices/other/messages/events/", 1, false, "x") }},
		{"QoS 0 outside the documented topics", func(c paho.Client) { c.Publish("hello/world", 0, false, "x") }},
		{"publishing a hub-to-device topic", func(c paho.Client) { c.Publish("devices/dev-1/messages/devicebound/", 0, false, "x") }},
		{"message over 256 KB", func(c paho.Client) {
			c.Publish("devices/dev-1/messages/events/", 1, false, strings.Repeat("x", 256*1024+1))
		}},
		{"subscribing outside the documented filters", func(c paho.Client) { c.Subscribe("#", 0, nil) }},
		{"subscribing to another device's C2D", func(c paho.Client) { c.Subscribe("devices/other/messages/devicebound/#", 1, nil) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", cert))
			tc.act(c)
			waitClosed(t, c, tc.name)
			by.check(t)
		})
	}
	if n := len(h.Events().Events()); n != 0 {
		t.Fatalf("%d events recorded from violations", n)
	}
}

// TestMessageAtTheSizeLimitIsAccepted: 256 KB of body and bag passes.
func TestMessageAtTheSizeLimitIsAccepted(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	bag := "%24.mid=big"
	must(t, hubtest.Wait(c.Publish("devices/dev-1/messages/events/"+bag, 1, false, strings.Repeat("x", 256*1024-len(bag)))))
	if h.Events().Seen("dev-1", "big") != 1 {
		t.Fatal("message at the limit not recorded")
	}
}

// TestSubscribeQoS2IsGrantedQoS1 and deliveries then come with QoS 1.
func TestSubscribeQoS2IsGrantedQoS1(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	var box inbox
	if q := subscribe(t, c, "devices/dev-1/messages/devicebound/#", 2, box.handler); q != 1 {
		t.Fatalf("granted QoS %d, want 1", q)
	}
	must(t, h.SendC2D("dev-1", c2dMsg("m1")))
	if m := box.wait(t, "devices/dev-1/messages/devicebound/"); m.Qos() != 1 {
		t.Fatalf("C2D delivered with QoS %d, want 1", m.Qos())
	}
}

// TestRetainIsIgnoredAndFlagged: RETAIN=1 telemetry is recorded with
// mqtt-retain=true and not retained.
func TestRetainIsIgnoredAndFlagged(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	must(t, hubtest.Wait(c.Publish("devices/dev-1/messages/events/%24.mid=r", 1, true, "x")))
	must(t, hubtest.Wait(c.Publish("devices/dev-1/messages/events/%24.mid=n", 1, false, "x")))
	if e := event(t, h, "dev-1", 1); e.Properties[eventlog.PropRetain] != "true" {
		t.Fatalf("retained message properties = %v", e.Properties)
	}
	if e := event(t, h, "dev-1", 2); e.Properties[eventlog.PropRetain] != "" {
		t.Fatalf("plain message flagged: %v", e.Properties)
	}
	if !c.IsConnectionOpen() {
		t.Fatal("RETAIN closed the connection")
	}
}

// TestSubscriptionLimitCountsDistinctFilters (wire/README.md obs. 3, 13):
// five distinct filters are granted, repeats do not count, the sixth is
// refused with 0x80 and the connection stays.
func TestSubscriptionLimitCountsDistinctFilters(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	filters := []string{"$iothub/methods/POST/#", "$iothub/methods/POST/#", "$iothub/twin/res/#",
		"$iothub/twin/PATCH/properties/desired/#", "devices/dev-1/messages/devicebound/#",
		"devices/dev-1/messages/devicebound/#", "$iothub/credentials/res/#"}
	for _, f := range filters {
		if q := subscribe(t, c, f, 1, nil); q == 0x80 {
			t.Fatalf("filter %s refused before the limit", f)
		}
	}
	if q := subscribe(t, c, "devices/+/messages/devicebound/#", 1, nil); q != 0x80 {
		t.Fatalf("sixth distinct filter granted %d, want 0x80", q)
	}
	if q := subscribe(t, c, "$iothub/twin/res/#", 0, nil); q == 0x80 {
		t.Fatal("re-subscribing an existing filter at the limit was refused")
	}
	if !c.IsConnectionOpen() {
		t.Fatal("the refusal closed the connection")
	}
}

// TestWillIsRecordedAsTelemetryOnUngracefulClose (PROTOCOL.md §1.5).
func TestWillIsRecordedAsTelemetryOnUngracefulClose(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	cert := hubtest.Device(t, h, "dev-1")
	tests := []struct {
		name, topic, mid string
		ungraceful       bool
		want             bool
	}{
		{"ungraceful close sends the will", "devices/dev-1/messages/events/%24.mid=will-1&cause=power", "will-1", true, true},
		{"graceful DISCONNECT does not", "devices/dev-1/messages/events/%24.mid=will-2", "will-2", false, false},
		{"will on another device's topic is dropped", "devices/other/messages/events/%24.mid=will-3", "will-3", true, false},
		{"will on a twin topic is dropped", "$iothub/twin/GET/?$rid=will-4", "will-4", true, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := hubtest.RawOptions(h, "dev-1", cert)
			o.SetWill(tc.topic, "gone", 1, true)
			c := hubtest.Connect(t, o)
			if tc.ungraceful {
				// Another connection with the same id takes over: the hub
				// closes this one without a DISCONNECT from the device.
				hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", cert))
				waitClosed(t, c, "takeover")
			} else {
				c.Disconnect(100)
			}
			// A marker after the will: once it is recorded, the will (sent
			// before the connection's end) would be too.
			marker := "marker-" + string(rune('a'+i))
			m := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", cert))
			must(t, hubtest.Wait(m.Publish("devices/dev-1/messages/events/%24.mid="+marker, 1, false, "")))
			mid := tc.mid
			got := h.Events().Seen("dev-1", mid) + h.Events().Seen("other", mid)
			if (got == 1) != tc.want {
				t.Fatalf("will %s recorded %d times, want %v", mid, got, tc.want)
			}
			if tc.want {
				for _, e := range h.Events().Events() {
					if e.MessageID == mid && (e.Properties[eventlog.PropMessageType] != "Will" || e.Properties["cause"] != "power" ||
						string(e.Body) != "gone" || e.Properties[eventlog.PropRetain] != "") {
						t.Fatalf("will event = %+v", e)
					}
				}
			}
		})
	}
}

// TestIgnoreUnknownTopicsDropsInsteadOfClosing is the configurable
// alternative of PROTOCOL.md §10.
func TestIgnoreUnknownTopicsDropsInsteadOfClosing(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{IgnoreUnknownTopics: true, KeepEvents: true})
	hubtest.Device(t, h, "other")
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	must(t, hubtest.Wait(c.Publish("devices/other/messages/events/", 1, false, "x")))
	must(t, hubtest.Wait(c.Publish("hello/world", 1, false, "x")))
	if q := subscribe(t, c, "#", 0, nil); q != 0x80 {
		t.Fatalf("subscribe # granted %d, want 0x80", q)
	}
	time.Sleep(50 * time.Millisecond) // nothing to poll for: the hub must stay quiet
	if !c.IsConnectionOpen() || len(h.Events().Events()) != 0 {
		t.Fatalf("open=%v events=%d", c.IsConnectionOpen(), len(h.Events().Events()))
	}
}
