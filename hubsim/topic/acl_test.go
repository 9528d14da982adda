package topic

import "testing"

func TestFilterAllowed(t *testing.T) {
	tests := []struct {
		identity, filter string
		want             bool
	}{
		{"d1", "devices/d1/messages/devicebound/#", true},
		{"d1", "$iothub/twin/res/#", true},
		{"d1", "$iothub/twin/PATCH/properties/desired/#", true},
		{"d1", "$iothub/methods/POST/#", true},
		{"d1", "$iothub/credentials/res/#", true},
		{"d1", "devices/d2/messages/devicebound/#", false},
		{"d1", "devices/d10/messages/devicebound/#", false},
		{"d10", "devices/d1/messages/devicebound/#", false},
		{"d1", "devices/+/messages/devicebound/#", true}, // azure-sdk-for-c
		{"d1/m1", "devices/+/messages/devicebound/#", false},
		{"d1", "devices/+/messages/events/#", false},
		{"d1", "devices/#", false},
		{"d1", "devices/d1/messages/devicebound/+", false},
		{"d1", "devices/d1/messages/devicebound/", false},
		{"d1", "devices/d1/messages/events/", false},
		{"d1", "#", false},
		{"d1", "$iothub/#", false},
		{"d1", "$iothub/twin/#", false},
		{"d1", "$iothub/methods/POST/reboot/#", false},
		{"d1", "devices/d1/modules/m1/inputs/#", false},
		{"", "$iothub/twin/res/#", false},
		{"d1/m1", "devices/d1/modules/m1/inputs/#", true},
		{"d1/m1", "devices/d1/modules/m1/messages/devicebound/#", true},
		{"d1/m1", "$iothub/methods/POST/#", true},
		{"d1/m1", "devices/d1/messages/devicebound/#", false},
		{"d1/m1", "devices/d1/modules/m2/inputs/#", false},
		{"d1/", "$iothub/twin/res/#", false},
		{"d1/m1/x", "$iothub/twin/res/#", false},
	}
	for _, tc := range tests {
		if got := FilterAllowed(tc.identity, tc.filter); got != tc.want {
			t.Errorf("FilterAllowed(%q, %q) = %v, want %v", tc.identity, tc.filter, got, tc.want)
		}
	}
}

func TestPublishAllowed(t *testing.T) {
	tests := []struct {
		identity, name string
		want           bool
	}{
		{"d1", "devices/d1/messages/events/", true},
		{"d1", "devices/d1/messages/events", true},
		{"d1", "devices/d1/messages/events/%24.mid=1", true},
		{"d1", "$iothub/twin/GET/?$rid=1", true},
		{"d1", "$iothub/twin/PATCH/properties/reported/?$rid=1", true},
		{"d1", "$iothub/methods/res/200/?$rid=1", true},
		{"d1", "$iothub/credentials/POST/issueCertificate/?$rid=abcd", true},
		{"d1", "devices/d2/messages/events/", false},
		{"d1", "devices/d1/modules/m1/messages/events/", false},
		{"d1", "devices/d1/messages/devicebound/", false},
		{"d1", "$iothub/twin/res/200/?$rid=1", false},
		{"d1", "$iothub/twin/PATCH/properties/desired/?$version=2", false},
		{"d1", "$iothub/methods/POST/reboot/?$rid=1", false},
		{"d1", "$iothub/twin/GET/", false},
		{"d1", "a/b", false},
		{"", "$iothub/twin/GET/?$rid=1", false},
		{"d1/m1", "devices/d1/modules/m1/messages/events/k=v/", true},
		{"d1/m1", "devices/d1/messages/events/", false},
		{"d1/m1", "devices/d1/modules/m2/messages/events/", false},
		{"d1/m1", "$iothub/twin/GET/?$rid=1", true},
	}
	for _, tc := range tests {
		if got := PublishAllowed(tc.identity, tc.name); got != tc.want {
			t.Errorf("PublishAllowed(%q, %q) = %v, want %v", tc.identity, tc.name, got, tc.want)
		}
	}
}

func TestDelivery(t *testing.T) {
	tests := []struct {
		identity, name string
		want           bool
	}{
		{"d1", "devices/d1/messages/devicebound/a=b", true},
		{"d1", "devices/d2/messages/devicebound/a=b", false},
		{"d1", "$iothub/twin/res/200/?$rid=1", true},
		{"d1", "$iothub/twin/PATCH/properties/desired/?$version=2", true},
		{"d1", "$iothub/methods/POST/reboot/?$rid=1", true},
		{"d1", "$iothub/credentials/res/202/?$rid=1", true},
		{"d1", "devices/d1/messages/events/", false},
		{"d1", "$iothub/twin/GET/?$rid=1", false},
		{"d1/m1", "devices/d1/modules/m1/inputs/in1/k=v", true},
		{"d1/m1", "devices/d1/modules/m2/inputs/in1/k=v", false},
		{"d1", "devices/d1/modules/m1/inputs/in1/", false},
		{"", "$iothub/twin/res/200/?$rid=1", false},
	}
	for _, tc := range tests {
		if got := Delivery(tc.identity, tc.name); got != tc.want {
			t.Errorf("Delivery(%q, %q) = %v, want %v", tc.identity, tc.name, got, tc.want)
		}
	}
}

func BenchmarkPublishAllowed(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		PublishAllowed("dev-sas-01", "devices/dev-sas-01/messages/events/%24.mid=msg-0001&k=v")
	}
}
