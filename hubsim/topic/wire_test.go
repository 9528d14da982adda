package topic

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/internal/nodewire"
)

// readWire returns every packet Microsoft's Node SDKs sent in 14 flows
// (wire/README.md).
func readWire(t testing.TB) []nodewire.Record {
	t.Helper()
	recs, err := nodewire.Records()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

var deviceToHub = map[Kind]bool{
	KindTelemetry: true, KindTwinGet: true, KindTwinPatchReported: true,
	KindMethodResponse: true, KindCredentialRequest: true,
}

// TestWireNodeSDK checks every hub packet the Node SDK sent: each CONNECT
// user name parses and names the client, each PUBLISH topic parses to a
// device-to-hub kind the device may use, and each SUBSCRIBE filter is
// allowed. The recorder's synthetic replies must be deliverable.
func TestWireNodeSDK(t *testing.T) {
	identity := map[string]string{} // flow/conn -> client id
	counts := map[string]int{}
	for _, r := range readWire(t) {
		if r.Endpoint != "hub" {
			continue
		}
		key := r.Flow + "/" + strconv.Itoa(r.Conn)
		id := identity[key]
		switch {
		case r.Type == "connect":
			identity[key] = r.ClientID
			checkWireUsername(t, r)
		case r.Type == "publish" && r.Dir == "c2s":
			tp, err := Parse(r.Topic)
			if err != nil || !deviceToHub[tp.Kind] {
				t.Errorf("%s: Parse(%q) = %v, %v; want a device-to-hub kind", r.Flow, r.Topic, tp.Kind, err)
			}
			if !PublishAllowed(id, r.Topic) {
				t.Errorf("%s: PublishAllowed(%q, %q) = false", r.Flow, id, r.Topic)
			}
		case r.Type == "publish" && r.Dir == "s2c":
			if !Delivery(id, r.Topic) {
				t.Errorf("%s: Delivery(%q, %q) = false", r.Flow, id, r.Topic)
			}
		case r.Type == "subscribe":
			for _, s := range r.Subscriptions {
				if !FilterAllowed(id, s.Topic) {
					t.Errorf("%s: FilterAllowed(%q, %q) = false", r.Flow, id, s.Topic)
				}
			}
		}
		counts[r.Dir+" "+r.Type]++
	}
	if counts["c2s publish"] < 20 || counts["c2s subscribe"] < 15 || counts["c2s connect"] < 14 {
		t.Errorf("wire file looks truncated: %v", counts)
	}
}

func checkWireUsername(t *testing.T, r nodewire.Record) {
	t.Helper()
	u, err := ParseUsername(r.Username)
	if err != nil {
		t.Errorf("%s: %v", r.Flow, err)
		return
	}
	dev, mod, _ := strings.Cut(r.ClientID, "/")
	if u.HostName != "wirecap-hub.azure-devices.net" || u.DeviceID != dev || u.ModuleID != mod ||
		u.APIVersion != "2021-04-12" || !strings.HasPrefix(u.ClientType, "azure-iot-device/1.18.4 (") {
		t.Errorf("%s: ParseUsername(%q) = %+v", r.Flow, r.Username, u)
	}
}

// TestWireAwkwardProperties decodes the telemetry bag of flow sas-telemetry
// (wire/README.md observations 19-20) to the values the application set.
func TestWireAwkwardProperties(t *testing.T) {
	var name string
	for _, r := range readWire(t) {
		if r.Flow == "sas-telemetry" && r.Type == "publish" && strings.Contains(r.Topic, "msg-0001") {
			name = r.Topic
		}
	}
	tp, err := Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	want := []Prop{
		{Key: "$.mid", Value: "msg-0001"},
		{Key: "$.cid", Value: "corr/0001 ?&="},
		{Key: "$.ct", Value: "application/json"},
		{Key: "$.ce", Value: "utf-8"},
		{Key: "a b", Value: "c d"},
		{Key: "eq=key", Value: "x=y"},
		{Key: "amp&key", Value: "p&q"},
		{Key: "pct%key", Value: "100%"},
		{Key: "slash/key", Value: "a/b/c"},
		{Key: "ünïcode", Value: "café ☕ 😀"},
		{Key: "wild+#", Value: "a+b#c"},
		{Key: "subdelims", Value: "it's (x)*!~"},
		{Key: "empty", Value: ""},
	}
	if !reflect.DeepEqual(tp.Props, want) {
		t.Errorf("Parse(%q).Props =\n %+v\nwant\n %+v", name, tp.Props, want)
	}
	if got := Telemetry(tp.DeviceID, "", want); got != name {
		t.Errorf("Telemetry re-encoding = %q, want the SDK's bytes %q", got, name)
	}
}
