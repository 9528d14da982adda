package conformance_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

func c2dMsg(id string) c2d.Message {
	return c2d.Message{MessageID: id, Ack: c2d.AckFull, Body: []byte("body of " + id)}
}

// manualAck is a raw client that does not PUBACK until told to.
func manualAck(t *testing.T, h *hubsim.Hub, id string, clean bool) (paho.Client, *inbox) {
	o := hubtest.RawOptions(h, id, hubtest.Device(t, h, id))
	o.SetAutoAckDisabled(true)
	o.SetCleanSession(clean)
	var box inbox
	o.SetDefaultPublishHandler(box.handler)
	c := hubtest.Connect(t, o)
	subscribe(t, c, "devices/"+id+"/messages/devicebound/#", 1, box.handler)
	return c, &box
}

// TestC2DBagCarriesSystemAndApplicationProperties (PROTOCOL.md §2.2).
func TestC2DBagCarriesSystemAndApplicationProperties(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	var box inbox
	subscribe(t, c, "devices/dev-1/messages/devicebound/#", 1, box.handler)
	exp := time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)
	must(t, h.SendC2D("dev-1", c2d.Message{MessageID: "m/1", CorrelationID: "c 1", UserID: "u", ContentType: "application/json",
		ContentEncoding: "utf-8", ExpiryTime: exp, Ack: c2d.AckPositive, Properties: map[string]string{"b": "", "a": "x&y=z"}}))
	m := box.wait(t, "devices/dev-1/messages/devicebound/")
	bag := strings.TrimPrefix(m.Topic(), "devices/dev-1/messages/devicebound/")
	if strings.Contains(bag, "/") {
		t.Fatalf("bag %q has a raw slash (the Node SDK splits the topic on /)", bag)
	}
	got := map[string]string{}
	for _, p := range topic.DecodeBag(bag) {
		got[p.Key] = p.Value
	}
	want := map[string]string{"$.mid": "m/1", "$.cid": "c 1", "$.uid": "u", "$.to": "/devices/dev-1/messages/deviceBound",
		"$.ct": "application/json", "$.ce": "utf-8", "$.exp": "2030-01-02T03:04:05.678Z", "iothub-ack": "positive", "a": "x&y=z", "b": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (bag %s)", k, got[k], v, bag)
		}
	}
	if !strings.HasPrefix(bag, "%24.mid=") || strings.Contains(bag, "&b&") || !strings.HasSuffix(bag, "&b=") {
		t.Errorf("bag %q: want system properties first and empty values as key=", bag)
	}
}

// TestC2DRedeliveredAfterLockUntilAcknowledged: without a PUBACK the
// message comes again when its lock expires (new packet id, DUP clear);
// the PUBACK of the redelivery completes it.
func TestC2DRedeliveredAfterLockUntilAcknowledged(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{C2D: c2d.Config{LockDuration: 300 * time.Millisecond}})
	_, box := manualAck(t, h, "dev-1", true)
	must(t, h.SendC2D("dev-1", c2dMsg("m1")))
	hubtest.Eventually(t, waitFor, func() bool { return len(box.all()) >= 2 }, "message not redelivered after its lock expired")
	msgs := box.all()
	if msgs[0].MessageID() == msgs[1].MessageID() || msgs[0].Topic() != msgs[1].Topic() {
		t.Fatalf("redelivery: packet ids %d %d, topics %q %q", msgs[0].MessageID(), msgs[1].MessageID(), msgs[0].Topic(), msgs[1].Topic())
	}
	last := box.all()
	last[len(last)-1].Ack()
	hubtest.Eventually(t, waitFor, func() bool { return h.C2DQueueLength("dev-1") == 0 }, "the PUBACK did not complete the message")
	if fb := h.C2DFeedback(); len(fb) != 1 || fb[0].StatusCode != c2d.StatusSuccess || fb[0].OriginalMessageID != "m1" {
		t.Fatalf("feedback = %+v", fb)
	}
}

// TestC2DDeadLetteredAfterMaxDeliveries and expired messages report
// their feedback.
func TestC2DDeadLetteredAfterMaxDeliveries(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{C2D: c2d.Config{LockDuration: 100 * time.Millisecond, MaxDeliveryCount: 2}})
	_, box := manualAck(t, h, "dev-1", true)
	must(t, h.SendC2D("dev-1", c2dMsg("m1")))
	hubtest.Eventually(t, waitFor, func() bool { return len(h.C2DFeedback()) == 1 }, "no feedback after max deliveries")
	if fb := h.C2DFeedback()[0]; fb.StatusCode != c2d.StatusDeliveryCountExceeded {
		t.Fatalf("feedback = %+v", fb)
	}
	if n := len(box.all()); n != 2 {
		t.Fatalf("delivered %d times, want 2", n)
	}
	hubtest.Device(t, h, "offline")
	must(t, h.SendC2D("offline", c2d.Message{MessageID: "e1", Ack: c2d.AckNegative, ExpiryTime: h.Now().Add(200 * time.Millisecond)}))
	hubtest.Eventually(t, waitFor, func() bool { return len(h.C2DFeedback()) == 2 }, "no Expired feedback")
	if fb := h.C2DFeedback()[1]; fb.StatusCode != c2d.StatusExpired || fb.DeviceID != "offline" {
		t.Fatalf("feedback = %+v", fb)
	}
}

// TestC2DQueueLimitAndUnknownDevice: 50 queued, the 51st is 403004; an
// unknown device is 404001.
func TestC2DQueueLimitAndUnknownDevice(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	hubtest.Device(t, h, "dev-1")
	for i := 0; i < 50; i++ {
		must(t, h.SendC2D("dev-1", c2d.Message{}))
	}
	var e *c2d.Error
	if err := h.SendC2D("dev-1", c2d.Message{}); !errors.As(err, &e) || e.Code != 403004 {
		t.Fatalf("51st SendC2D = %v, want 403004", err)
	}
	if err := h.SendC2D("ghost", c2d.Message{}); !errors.Is(err, c2d.ErrDeviceNotFound) {
		t.Fatalf("SendC2D(ghost) = %v, want 404001", err)
	}
}
