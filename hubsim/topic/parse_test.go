package topic

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestParse covers every topic shape of PROTOCOL.md §2 in both directions.
func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Topic
	}{
		{"telemetry no bag", "devices/d1/messages/events/",
			Topic{Kind: KindTelemetry, DeviceID: "d1"}},
		{"telemetry without trailing slash (§2.1)", "devices/d1/messages/events",
			Topic{Kind: KindTelemetry, DeviceID: "d1"}},
		{"telemetry bag decoded", "devices/d1/messages/events/%24.mid=m1&%24.ct=application%2Fjson&a%20b=c%2Fd",
			Topic{Kind: KindTelemetry, DeviceID: "d1", Props: []Prop{
				{Key: "$.mid", Value: "m1"}, {Key: "$.ct", Value: "application/json"}, {Key: "a b", Value: "c/d"}}}},
		{"telemetry plus stays a plus", "devices/d1/messages/events/a=1+2&b=%2B",
			Topic{Kind: KindTelemetry, DeviceID: "d1", Props: []Prop{{Key: "a", Value: "1+2"}, {Key: "b", Value: "+"}}}},
		{"telemetry null and empty values", "devices/d1/messages/events/flag&empty=",
			Topic{Kind: KindTelemetry, DeviceID: "d1", Props: []Prop{{Key: "flag", Null: true}, {Key: "empty"}}}},
		{"telemetry malformed escapes kept", "devices/d1/messages/events/a=%zz%4&b=100%",
			Topic{Kind: KindTelemetry, DeviceID: "d1", Props: []Prop{{Key: "a", Value: "%zz%4"}, {Key: "b", Value: "100%"}}}},
		{"telemetry empty segments skipped", "devices/d1/messages/events/&a=1&&",
			Topic{Kind: KindTelemetry, DeviceID: "d1", Props: []Prop{{Key: "a", Value: "1"}}}},
		{"module telemetry", "devices/d1/modules/m1/messages/events/%24.mid=x",
			Topic{Kind: KindTelemetry, DeviceID: "d1", ModuleID: "m1", Props: []Prop{{Key: "$.mid", Value: "x"}}}},
		{"module output trailing slash stripped (wire obs. 21)", "devices/d1/modules/m1/messages/events/%24.on=out%201&k=v/",
			Topic{Kind: KindTelemetry, DeviceID: "d1", ModuleID: "m1", Props: []Prop{{Key: "$.on", Value: "out 1"}, {Key: "k", Value: "v"}}}},
		{"c2d", "devices/d1/messages/devicebound/%24.to=%2Fdevices%2Fd1%2Fmessages%2FdeviceBound&a=b",
			Topic{Kind: KindC2D, DeviceID: "d1", Props: []Prop{{Key: "$.to", Value: "/devices/d1/messages/deviceBound"}, {Key: "a", Value: "b"}}}},
		{"module input", "devices/d1/modules/m1/inputs/input1/k=v%20w",
			Topic{Kind: KindModuleInput, DeviceID: "d1", ModuleID: "m1", Input: "input1", Props: []Prop{{Key: "k", Value: "v w"}}}},
		{"twin get", "$iothub/twin/GET/?$rid=6b1a48c3",
			Topic{Kind: KindTwinGet, RID: "6b1a48c3"}},
		{"twin get without slash before ?", "$iothub/twin/GET?$rid=1",
			Topic{Kind: KindTwinGet, RID: "1"}},
		{"twin get encoded key", "$iothub/twin/GET/?%24rid=7",
			Topic{Kind: KindTwinGet, RID: "7"}},
		{"twin get rid kept raw", "$iothub/twin/GET/?$rid=a%20b",
			Topic{Kind: KindTwinGet, RID: "a%20b"}},
		{"reported patch", "$iothub/twin/PATCH/properties/reported/?$rid=ac98",
			Topic{Kind: KindTwinPatchReported, RID: "ac98"}},
		{"reported patch extra keys ignored", "$iothub/twin/PATCH/properties/reported/?$rid=1&$version=3&x=y",
			Topic{Kind: KindTwinPatchReported, RID: "1", Version: 3}},
		{"method response", "$iothub/methods/res/200/?$rid=1",
			Topic{Kind: KindMethodResponse, Status: 200, RID: "1"}},
		{"method response negative status", "$iothub/methods/res/-1/?$rid=1",
			Topic{Kind: KindMethodResponse, Status: -1, RID: "1"}},
		{"twin response with version", "$iothub/twin/res/204/?$rid=ac&$version=8",
			Topic{Kind: KindTwinResponse, Status: 204, RID: "ac", Version: 8}},
		{"twin response without version", "$iothub/twin/res/200/?$rid=ac",
			Topic{Kind: KindTwinResponse, Status: 200, RID: "ac"}},
		{"desired patch", "$iothub/twin/PATCH/properties/desired/?$version=5",
			Topic{Kind: KindDesiredPatch, Version: 5}},
		{"method request", "$iothub/methods/POST/reboot/?$rid=1",
			Topic{Kind: KindMethodRequest, Method: "reboot", RID: "1"}},
		{"component command (wire obs. 27)", "$iothub/methods/POST/thermostat1*getMaxMinReport/?$rid=7",
			Topic{Kind: KindMethodRequest, Method: "thermostat1*getMaxMinReport", RID: "7"}},
		{"credential request (§2.6)", "$iothub/credentials/POST/issueCertificate/?$rid=r-1",
			Topic{Kind: KindCredentialRequest, Method: "issueCertificate", RID: "r-1"}},
		{"credential response", "$iothub/credentials/res/202/?$rid=r-1",
			Topic{Kind: KindCredentialResponse, Status: 202, RID: "r-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) =\n %+v\nwant\n %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		target error
		text   string // substring of the error
	}{
		{"empty", "", ErrUnknownTopic, `topic "": unknown IoT Hub topic`},
		{"plain", "x", ErrUnknownTopic, `topic "x": unknown IoT Hub topic`},
		{"other device prefix", "devices/d1/messages/other/", ErrUnknownTopic, "unknown"},
		{"events prefix only", "devices/d1/messages/eventsX", ErrUnknownTopic, "unknown"},
		{"empty device", "devices//messages/events/", ErrMalformedTopic, "empty device ID"},
		{"empty module", "devices/d1/modules//messages/events/", ErrMalformedTopic, "empty module ID"},
		{"inputs on a device", "devices/d1/inputs/x/", ErrUnknownTopic, "unknown"},
		{"empty input", "devices/d1/modules/m1/inputs//", ErrUnknownTopic, "unknown"},
		{"twin get without rid", "$iothub/twin/GET/", ErrMalformedTopic, "missing $rid"},
		{"twin get empty rid", "$iothub/twin/GET/?$rid=", ErrMalformedTopic, "missing $rid"},
		{"reported patch without rid", "$iothub/twin/PATCH/properties/reported/?x=1", ErrMalformedTopic, "missing $rid"},
		{"method response bad status", "$iothub/methods/res/ok/?$rid=1", ErrMalformedTopic, `status "ok" is not an integer`},
		{"method response without rid", "$iothub/methods/res/200/", ErrMalformedTopic, "missing $rid"},
		{"bad version", "$iothub/twin/res/200/?$rid=1&$version=x", ErrMalformedTopic, "$version"},
		{"negative version", "$iothub/twin/res/200/?$rid=1&$version=-1", ErrMalformedTopic, "$version"},
		{"desired without version", "$iothub/twin/PATCH/properties/desired/", ErrMalformedTopic, "missing $version"},
		{"method name with slash", "$iothub/methods/POST/a/b/?$rid=1", ErrUnknownTopic, "unknown"},
		{"method without name", "$iothub/methods/POST//?$rid=1", ErrUnknownTopic, "unknown"},
		{"unknown iothub", "$iothub/twin/DELETE/?$rid=1", ErrUnknownTopic, "unknown"},
		{"dps is not hub", "$dps/registrations/PUT/iotdps-register/?$rid=1", ErrUnknownTopic, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tc.in, got)
			}
			if !errors.Is(err, tc.target) {
				t.Errorf("Parse(%q) error %v, want errors.Is %v", tc.in, err, tc.target)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tc.in, err, tc.text)
			}
		})
	}
}

func TestParseErrorTruncatesLongNames(t *testing.T) {
	_, err := Parse(strings.Repeat("x", 10000))
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for a 10000-byte name is %d bytes, want a short error", len(err.Error()))
	}
}

func TestTopicProp(t *testing.T) {
	tp := Topic{Props: []Prop{{Key: "a", Value: "1"}, {Key: "n", Null: true}, {Key: "a", Value: "2"}}}
	tests := []struct {
		key    string
		want   string
		wantOK bool
	}{{"a", "1", true}, {"n", "", true}, {"x", "", false}}
	for _, tc := range tests {
		if got, ok := tp.Prop(tc.key); got != tc.want || ok != tc.wantOK {
			t.Errorf("Prop(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestKindString(t *testing.T) {
	if got := KindTwinGet.String(); got != "twin GET" {
		t.Errorf("KindTwinGet.String() = %q", got)
	}
	if got := Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}

func TestParseAllocations(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"$iothub/twin/GET/?$rid=6b1a48c3-60df-4ae5-9a5f-6c7361d3a9cc", 0},
		{"$iothub/twin/res/204/?$rid=1&$version=8", 0},
		{"devices/d1/messages/events/", 0},
		{"devices/d1/messages/events/a=1&b=2", 1}, // the Props slice only
	}
	for _, tc := range tests {
		got := testing.AllocsPerRun(100, func() { _, _ = Parse(tc.in) })
		if got > tc.want {
			t.Errorf("Parse(%q) allocates %v times, want <= %v", tc.in, got, tc.want)
		}
	}
	if got := testing.AllocsPerRun(100, func() { PublishAllowed("d1", "devices/d1/messages/events/a=1") }); got != 0 {
		t.Errorf("PublishAllowed allocates %v times, want 0", got)
	}
}

func BenchmarkParseTelemetry(b *testing.B) {
	const name = "devices/dev-sas-01/messages/events/%24.mid=msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&temp=21"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(name); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTwinGet(b *testing.B) {
	const name = "$iothub/twin/GET/?$rid=6b1a48c3-60df-4ae5-9a5f-6c7361d3a9cc"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(name); err != nil {
			b.Fatal(err)
		}
	}
}
