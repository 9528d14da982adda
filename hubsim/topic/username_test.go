package topic

import (
	"errors"
	"testing"
)

// TestParseUsername covers the user-name variants of PROTOCOL.md §1.2.
func TestParseUsername(t *testing.T) {
	const ua = "azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)"
	tests := []struct {
		name string
		in   string
		want Username
	}{
		{"node", "wirecap-hub.azure-devices.net/dev-sas-01/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)",
			Username{HostName: "wirecap-hub.azure-devices.net", DeviceID: "dev-sas-01", APIVersion: "2021-04-12", ClientType: ua}},
		{"node raw model-id", "h/dev-pnp-01/?api-version=2021-04-12&model-id=dtmi:com:example:TemperatureController;2&DeviceClientType=x",
			Username{HostName: "h", DeviceID: "dev-pnp-01", APIVersion: "2021-04-12", ModelID: "dtmi:com:example:TemperatureController;2", ClientType: "x"}},
		{"node module", "h/dev-sas-01/mod-a/?api-version=2021-04-12&DeviceClientType=y",
			Username{HostName: "h", DeviceID: "dev-sas-01", ModuleID: "mod-a", APIVersion: "2021-04-12", ClientType: "y"}},
		{"amenzhinsky without ?", "h/d1/api-version=2020-09-30",
			Username{HostName: "h", DeviceID: "d1", APIVersion: "2020-09-30"}},
		{"amenzhinsky encoded model-id", "h/d1/api-version=2020-09-30&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1",
			Username{HostName: "h", DeviceID: "d1", APIVersion: "2020-09-30", ModelID: "dtmi:com:example:Thermostat;1"}},
		{"amenzhinsky module", "h/d1/m1/?api-version=2018-06-30",
			Username{HostName: "h", DeviceID: "d1", ModuleID: "m1", APIVersion: "2018-06-30"}},
		{"module without ?", "h/d1/m1/api-version=2018-06-30",
			Username{HostName: "h", DeviceID: "d1", ModuleID: "m1", APIVersion: "2018-06-30"}},
		{"old C SDK raw client type", "h/d1/api-version=2016-11-14&DeviceClientType=iothubclient/1.1.0 (native; Linux)",
			Username{HostName: "h", DeviceID: "d1", APIVersion: "2016-11-14", ClientType: "iothubclient/1.1.0 (native; Linux)"}},
		{"query key case", "h/d1/?API-VERSION=2019-10-01&devicecLienttype=z",
			Username{HostName: "h", DeviceID: "d1", APIVersion: "2019-10-01", ClientType: "z"}},
		{"no query", "h/d1", Username{HostName: "h", DeviceID: "d1"}},
		{"no query trailing slash", "h/d1/", Username{HostName: "h", DeviceID: "d1"}},
		{"module no query", "h/d1/m1", Username{HostName: "h", DeviceID: "d1", ModuleID: "m1"}},
		{"lenient escapes", "h/d1/?api-version=%zz&model-id=a%", Username{HostName: "h", DeviceID: "d1", APIVersion: "%zz", ModelID: "a%"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUsername(tc.in)
			if err != nil {
				t.Fatalf("ParseUsername(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseUsername(%q) =\n %+v\nwant\n %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseUsernameErrors(t *testing.T) {
	for _, in := range []string{"", "h", "h/", "/d1/?api-version=1", "h//?api-version=1"} {
		if got, err := ParseUsername(in); !errors.Is(err, ErrMalformedUsername) {
			t.Errorf("ParseUsername(%q) = %+v, %v; want ErrMalformedUsername", in, got, err)
		}
	}
}
