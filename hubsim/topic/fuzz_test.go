package topic

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; whatever parses has a known kind, the
// access checks agree with it, and formatting the parsed values parses
// back to the same values.
func FuzzParse(f *testing.F) {
	for _, r := range readWire(f) {
		if r.Topic != "" {
			f.Add(r.Topic)
		}
		for _, s := range r.Subscriptions {
			f.Add(s.Topic)
		}
	}
	for _, s := range []string{"", "devices/", "devices/d/modules/m/inputs/i/", "$iothub/twin/res/x/?$rid=",
		"$iothub/credentials/POST/issueCertificate/?$rid=1", "devices/d/messages/events/%", "$iothub/twin/GET?%24rid=%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tp, err := Parse(name)
		if err != nil {
			if tp.Kind != KindUnknown {
				t.Fatalf("Parse(%q) = %+v with error %v", name, tp, err)
			}
			return
		}
		if tp.Kind == KindUnknown {
			t.Fatalf("Parse(%q) = unknown kind without error", name)
		}
		checkReformat(t, name, tp)
		identity := tp.DeviceID
		if tp.ModuleID != "" {
			identity += "/" + tp.ModuleID
		}
		if identity == "" {
			identity = "d"
		}
		if PublishAllowed(identity, name) && Delivery(identity, name) {
			t.Fatalf("%q is allowed in both directions for %q", name, identity)
		}
	})
}

// reformat builds tp's topic name again from its values.
func reformat(tp Topic) string {
	switch tp.Kind {
	case KindTelemetry:
		return Telemetry(tp.DeviceID, tp.ModuleID, tp.Props)
	case KindC2D:
		if tp.ModuleID != "" {
			return "devices/" + tp.DeviceID + "/modules/" + tp.ModuleID + "/messages/devicebound/" + EncodeBag(tp.Props)
		}
		return C2D(tp.DeviceID, tp.Props)
	case KindModuleInput:
		return ModuleInput(tp.DeviceID, tp.ModuleID, tp.Input, tp.Props)
	case KindTwinGet:
		return TwinGet(tp.RID)
	case KindTwinPatchReported:
		return TwinPatchReported(tp.RID)
	case KindMethodResponse:
		return MethodResponse(tp.Status, tp.RID)
	case KindTwinResponse:
		return TwinResponse(tp.Status, tp.RID, tp.Version)
	case KindDesiredPatch:
		return DesiredPatch(tp.Version)
	case KindMethodRequest:
		return MethodRequest(tp.Method, tp.RID)
	case KindCredentialRequest:
		return "$iothub/credentials/POST/" + tp.Method + "/?$rid=" + tp.RID
	case KindCredentialResponse:
		return CredentialResponse(tp.Status, tp.RID)
	}
	return ""
}

func checkReformat(t *testing.T, name string, tp Topic) {
	again := reformat(tp)
	got, err := Parse(again)
	if err != nil {
		t.Fatalf("Parse(%q) (reformatted from %q): %v", again, name, err)
	}
	if tp.Kind != KindTwinResponse && tp.Kind != KindDesiredPatch {
		got.Version = tp.Version // only these two carry $version
	}
	if !topicEqual(got, tp) {
		t.Fatalf("Parse(%q) = %+v, want %+v (from %q)", again, got, tp, name)
	}
}

func topicEqual(a, b Topic) bool {
	if len(a.Props) != len(b.Props) {
		return false
	}
	for i := range a.Props {
		if a.Props[i] != b.Props[i] {
			return false
		}
	}
	a.Props, b.Props = nil, nil
	return reflect.DeepEqual(a, b)
}

// FuzzParseUsername: ParseUsername never panics, a parsed user name has a
// host and device without `/`, and its canonical form parses back to it.
func FuzzParseUsername(f *testing.F) {
	for _, r := range readWire(f) {
		if r.Username != "" {
			f.Add(r.Username)
		}
	}
	for _, s := range []string{"h/d1/api-version=2020-09-30", "h/d/m/?api-version=1&model-id=dtmi:a;1",
		"h/d/x=y", "/", "h/d/?&&=&model-id", "h/d/%zz/?api-version=%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := ParseUsername(in)
		if err != nil {
			return
		}
		if u.HostName == "" || u.DeviceID == "" || strings.Contains(u.HostName+u.DeviceID, "/") {
			t.Fatalf("ParseUsername(%q) = %+v", in, u)
		}
		if strings.HasPrefix(u.ModuleID, "?") || hasPrefixFold(u.ModuleID, "api-version=") {
			return // such a module ID reads as a query: not representable
		}
		back, err := ParseUsername(u.String())
		if err != nil || back != u {
			t.Fatalf("ParseUsername(%q) = %+v, %v; want %+v (from %q)", u.String(), back, err, u, in)
		}
	})
}
