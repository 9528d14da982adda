package topic

import (
	"reflect"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"twin response with version", TwinResponse(204, "ac98", 8), "$iothub/twin/res/204/?$rid=ac98&$version=8"},
		{"twin response version omitted", TwinResponse(200, "6b1a", 0), "$iothub/twin/res/200/?$rid=6b1a"},
		{"desired patch", DesiredPatch(5), "$iothub/twin/PATCH/properties/desired/?$version=5"},
		{"method request", MethodRequest("reboot", "1"), "$iothub/methods/POST/reboot/?$rid=1"},
		{"credential response", CredentialResponse(202, "r-1"), "$iothub/credentials/res/202/?$rid=r-1"},
		{"c2d no props", C2D("d1", nil), "devices/d1/messages/devicebound/"},
		{"c2d as in §2.2", C2D("dev1", []Prop{{Key: "$.to", Value: "/devices/dev1/messages/deviceBound"}, {Key: "a", Value: "b"}}),
			"devices/dev1/messages/devicebound/%24.to=%2Fdevices%2Fdev1%2Fmessages%2FdeviceBound&a=b"},
		{"c2d null and empty (§2.2)", C2D("d", []Prop{{Key: "flag", Null: true}, {Key: "empty"}}),
			"devices/d/messages/devicebound/flag&empty="},
		{"module input", ModuleInput("d", "m", "input1", []Prop{{Key: "k", Value: "v w"}}),
			"devices/d/modules/m/inputs/input1/k=v%20w"},
		{"telemetry device", Telemetry("d", "", []Prop{{Key: "$.mid", Value: "1"}}), "devices/d/messages/events/%24.mid=1"},
		{"telemetry module", Telemetry("d", "m", nil), "devices/d/modules/m/messages/events/"},
		{"twin get", TwinGet("1"), "$iothub/twin/GET/?$rid=1"},
		{"reported patch", TwinPatchReported("1"), "$iothub/twin/PATCH/properties/reported/?$rid=1"},
		{"method response", MethodResponse(404, "2"), "$iothub/methods/res/404/?$rid=2"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// TestEncodeBagLikeNode checks the encodeURIComponent rules seen on the wire
// (wire/README.md observation 20).
func TestEncodeBagLikeNode(t *testing.T) {
	tests := []struct {
		in   Prop
		want string
	}{
		{Prop{Key: "a b", Value: "c d"}, "a%20b=c%20d"},
		{Prop{Key: "eq=key", Value: "x=y"}, "eq%3Dkey=x%3Dy"},
		{Prop{Key: "amp&key", Value: "p&q"}, "amp%26key=p%26q"},
		{Prop{Key: "pct%key", Value: "100%"}, "pct%25key=100%25"},
		{Prop{Key: "slash/key", Value: "a/b/c"}, "slash%2Fkey=a%2Fb%2Fc"},
		{Prop{Key: "ünïcode", Value: "café ☕ 😀"}, "%C3%BCn%C3%AFcode=caf%C3%A9%20%E2%98%95%20%F0%9F%98%80"},
		{Prop{Key: "wild+#", Value: "a+b#c"}, "wild%2B%23=a%2Bb%23c"},
		{Prop{Key: "subdelims", Value: "it's (x)*!~"}, "subdelims=it's%20(x)*!~"},
		{Prop{Key: "$.exp", Value: "2030-01-02T03:04:05.678Z"}, "%24.exp=2030-01-02T03%3A04%3A05.678Z"},
		{Prop{Key: "q?;", Value: ""}, "q%3F%3B="},
	}
	for _, tc := range tests {
		if got := EncodeBag([]Prop{tc.in}); got != tc.want {
			t.Errorf("EncodeBag(%+v) = %q, want %q", tc.in, got, tc.want)
		}
		if got := DecodeBag(tc.want); !reflect.DeepEqual(got, []Prop{tc.in}) {
			t.Errorf("DecodeBag(%q) = %+v, want %+v", tc.want, got, tc.in)
		}
	}
	if got := EncodeBag(nil); got != "" {
		t.Errorf("EncodeBag(nil) = %q", got)
	}
}

// TestFormatRoundTrip: everything the hub formats parses back to the same
// values.
func TestFormatRoundTrip(t *testing.T) {
	props := []Prop{{Key: "$.mid", Value: "m/1"}, {Key: "a b", Value: "&=%+#?"}, {Key: "n", Null: true}, {Key: "e"}}
	tests := []struct {
		name string
		in   string
		want Topic
	}{
		{"twin response", TwinResponse(412, "r", 3), Topic{Kind: KindTwinResponse, Status: 412, RID: "r", Version: 3}},
		{"twin response no version", TwinResponse(200, "r", 0), Topic{Kind: KindTwinResponse, Status: 200, RID: "r"}},
		{"desired", DesiredPatch(9), Topic{Kind: KindDesiredPatch, Version: 9}},
		{"method request", MethodRequest("c*m", "5"), Topic{Kind: KindMethodRequest, Method: "c*m", RID: "5"}},
		{"credential response", CredentialResponse(200, "x"), Topic{Kind: KindCredentialResponse, Status: 200, RID: "x"}},
		{"c2d", C2D("d", props), Topic{Kind: KindC2D, DeviceID: "d", Props: props}},
		{"module input", ModuleInput("d", "m", "i", props), Topic{Kind: KindModuleInput, DeviceID: "d", ModuleID: "m", Input: "i", Props: props}},
		{"telemetry", Telemetry("d", "", props), Topic{Kind: KindTelemetry, DeviceID: "d", Props: props}},
		{"module telemetry", Telemetry("d", "m", props), Topic{Kind: KindTelemetry, DeviceID: "d", ModuleID: "m", Props: props}},
		{"twin get", TwinGet("g"), Topic{Kind: KindTwinGet, RID: "g"}},
		{"reported", TwinPatchReported("p"), Topic{Kind: KindTwinPatchReported, RID: "p"}},
		{"method response", MethodResponse(500, "q"), Topic{Kind: KindMethodResponse, Status: 500, RID: "q"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}
