package broker

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

func TestMessageSizeCountsBodyAndPropertyBag(t *testing.T) {
	tests := []struct {
		topic string
		body  int
		want  int
	}{
		{"devices/d/messages/events/", 10, 10},
		{"devices/d/messages/events", 10, 10},
		{"devices/d/messages/events/%24.mid=1", 10, 19},
		{"devices/d/modules/m/messages/events/k=v/", 0, 4},
		{"$iothub/twin/PATCH/properties/reported/?$rid=1", 7, 7},
	}
	for _, tc := range tests {
		pk := packets.Packet{TopicName: tc.topic, Payload: make([]byte, tc.body)}
		if got := messageSize(pk); got != tc.want {
			t.Errorf("messageSize(%q, %d bytes) = %d, want %d", tc.topic, tc.body, got, tc.want)
		}
	}
}

// TestC2DBagOrderAndEncoding (PROTOCOL.md §2.2, wire/README.md obs. 5):
// system properties first, $.to always, app properties by name, empty
// values as `key=`, `/` escaped.
func TestC2DBagOrderAndEncoding(t *testing.T) {
	d := c2d.Delivery{DeviceID: "dev-1", Message: c2d.Message{MessageID: "m1", ContentType: "application/json",
		ExpiryTime: time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC), Ack: c2d.AckFull,
		Properties: map[string]string{"z": "1", "a b": "c/d", "empty": ""}}}
	got := topic.EncodeBag(c2dBag(d))
	want := "%24.mid=m1&%24.to=%2Fdevices%2Fdev-1%2Fmessages%2FdeviceBound&%24.ct=application%2Fjson" +
		"&%24.exp=2030-01-02T03%3A04%3A05.678Z&iothub-ack=full&a%20b=c%2Fd&empty=&z=1"
	if got != want {
		t.Fatalf("bag =\n %s\nwant\n %s", got, want)
	}
	if bare := topic.EncodeBag(c2dBag(c2d.Delivery{DeviceID: "d"})); bare != "%24.to=%2Fdevices%2Fd%2Fmessages%2FdeviceBound" {
		t.Fatalf("minimal bag = %s", bare)
	}
}

func TestAuthMethodNamesScopeAndType(t *testing.T) {
	tests := []struct {
		auth             registry.AuthType
		password, policy bool
		scope, typ       string
	}{
		{registry.AuthSAS, true, false, "device", "sas"},
		{registry.AuthCertificateAuthority, true, true, "hub", "sas"},
		{registry.AuthSelfSigned, false, false, "device", "x509Certificate"},
		{registry.AuthCertificateAuthority, false, false, "device", "x509CA"},
	}
	for _, tc := range tests {
		var m map[string]any
		if err := json.Unmarshal([]byte(authMethod(tc.auth, tc.password, tc.policy)), &m); err != nil {
			t.Fatal(err)
		}
		if m["scope"] != tc.scope || m["type"] != tc.typ || m["issuer"] != "iothub" {
			t.Errorf("authMethod(%s, %v, %v) = %v", tc.auth, tc.password, tc.policy, m)
		}
	}
}

func TestWillOnlyOnTheIdentitysTelemetryTopic(t *testing.T) {
	h := NewHook(Config{})
	tests := []struct {
		client, will string
		keep         bool
	}{
		{"d", "devices/d/messages/events/", true},
		{"d", "devices/d/messages/events/a=b", true},
		{"d/m", "devices/d/modules/m/messages/events/", true},
		{"d", "devices/x/messages/events/", false},
		{"d", "$iothub/twin/GET/?$rid=1", false},
		{"d", "devices/d/messages/devicebound/", false},
	}
	for _, tc := range tests {
		pk := packets.Packet{Connect: packets.ConnectParams{ClientIdentifier: tc.client, WillFlag: true,
			WillTopic: tc.will, WillQos: 2, WillRetain: true, WillPayload: []byte("x")}}
		got := h.checkWill(pk)
		if got.Connect.WillFlag != tc.keep || got.Connect.WillRetain || got.Connect.WillQos > 1 {
			t.Errorf("checkWill(%s, %q) = flag %v retain %v qos %d, want flag %v, no retain, QoS <= 1",
				tc.client, tc.will, got.Connect.WillFlag, got.Connect.WillRetain, got.Connect.WillQos, tc.keep)
		}
	}
}

func TestViolationClosesThroughMochisRejectPacket(t *testing.T) {
	v := &violation{reason: "PUBLISH with QoS 2"}
	if !strings.Contains(v.Error(), "QoS 2") || v.Unwrap() != packets.ErrRejectPacket {
		t.Fatalf("violation = %v / %v", v, v.Unwrap())
	}
}
