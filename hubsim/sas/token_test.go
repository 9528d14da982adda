package sas

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Throwaway keys from wire/README.md.
const (
	keySAS01 = "nxFT9sFl/38S0dX7CUpJtzW16Hsv+VXEhc1zlI9BU3E="
	keyPnP01 = "VU7pN5wiwmQMJwd8WL7tdj8WQc/cBtWEPhyvryN7zZg="
	keyModA  = "HtWsnCLf8g/mj1K1ZpMmnZA2HUlDvx/uA2hasAIehxU="
	keyRegSy = "b4MDklyehQ4lFZKfXGWm3njVhFZeGTY+lx7dCcCSYzQ="
	wireHost = "wirecap-hub.azure-devices.net"
)

// TestWireTokensVerifyOverTheRawResource replays tokens Microsoft's Node SDK
// sent (wire/node-sdk.jsonl): encoded hub sr, module sr, and the DPS token
// with a plain sr and skn between sig and se (PROTOCOL.md §1.3).
func TestWireTokensVerifyOverTheRawResource(t *testing.T) {
	tests := []struct {
		name, token, key string
		keyName          string
	}{
		{"sas-telemetry", "SharedAccessSignature sr=wirecap-hub.azure-devices.net%2Fdevices%2Fdev-sas-01&sig=kbDGkmOjkW%2BGd186J3yJhI87B1UeGTF7Xfv8IqApdqg%3D&se=1795876641", keySAS01, ""},
		{"sas-token-renewal", "SharedAccessSignature sr=wirecap-hub.azure-devices.net%2Fdevices%2Fdev-sas-01&sig=URXy%2FtPLVbLR%2B1J5JrBjeRC6K%2F5uo0CEAzQetK%2FDDd8%3D&se=1795873055", keySAS01, ""},
		{"sas-pnp-startup", "SharedAccessSignature sr=wirecap-hub.azure-devices.net%2Fdevices%2Fdev-pnp-01&sig=Y1%2BozhsgdB1zhCFNLF5j1Ac%2Fk2xD5nJDiRrPQlMab2E%3D&se=1795876645", keyPnP01, ""},
		{"sas-module", "SharedAccessSignature sr=wirecap-hub.azure-devices.net%2Fdevices%2Fdev-sas-01%2Fmodules%2Fmod-a&sig=WAZzwrK8zswcdMwaLNaVMGucSKzodQE%2BeFSLWinz%2F48%3D&se=1795876655", keyModA, ""},
		{"dps-symkey-group", "SharedAccessSignature sr=0ne00WC0FFE/registrations/reg-sym-01&sig=n4nC2enWJzTr8WIUAONyQPDrDuDzezkjqGBXOcfu0wU%3D&skn=registration&se=1795876659", keyRegSy, "registration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse(tc.token)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if tok.KeyName != tc.keyName {
				t.Fatalf("KeyName = %q, want %q", tok.KeyName, tc.keyName)
			}
			if err := tok.Verify("", tc.key); err != nil {
				t.Fatalf("Verify(wire key) = %v, want nil", err)
			}
			if err := tok.Verify(keyPnP01 + "x"); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify(bad key) = %v, want ErrSignature", err)
			}
		})
	}
}

func TestRejectedWireTokenDoesNotVerify(t *testing.T) {
	tok, err := Parse("SharedAccessSignature sr=wirecap-hub.azure-devices.net%2Fdevices%2Fdev-sas-01&sig=egl072WgqDGsq1FteNzX%2BQqNIZ%2BZNV%2B9Xbrdyc1b4Jg%3D&se=1795876653")
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Verify(keySAS01); !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify = %v, want ErrSignature (sas-rejected used the wrong key)", err)
	}
}

func TestFieldsInAnyOrderAndSecondaryKey(t *testing.T) {
	good, err := Sign("h.example/devices/d1", keyPnP01, "", time.Unix(2000000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(strings.TrimPrefix(good, Prefix), "&")
	reordered := Prefix + fields[2] + "&" + fields[0] + "&unknown=1&" + fields[1]
	tok, err := Parse(reordered)
	if err != nil {
		t.Fatalf("Parse(%q) = %v", reordered, err)
	}
	if err := tok.Verify(keySAS01, keyPnP01); err != nil {
		t.Fatalf("Verify(primary, secondary) = %v, want the secondary to match", err)
	}
	if !tok.Grants("H.EXAMPLE", "d1", "") || tok.Grants("h.example", "d2", "") || tok.Grants("h.example", "d1", "m") {
		t.Fatalf("Grants wrong for resource %q", tok.ResourceURI())
	}
}

func TestParseErrorsSayWhatIsWrongWithoutTheSignature(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no prefix", "sr=a&sig=b&se=1", "does not start with"},
		{"missing sr", Prefix + "sig=secretsig&se=1", "missing sr"},
		{"missing sig", Prefix + "sr=a&se=1", "missing sig"},
		{"missing se", Prefix + "sr=a&sig=secretsig", "missing se"},
		{"se not a number", Prefix + "sr=a&sig=secretsig&se=tomorrow", "not Unix seconds"},
		{"repeated field", Prefix + "sr=a&sr=b&sig=secretsig&se=1", "sr repeated"},
		{"bad escape", Prefix + "sr=a&sig=%zz&se=1", "percent-encoded"},
		{"empty skn", Prefix + "sr=a&sig=secretsig&se=1&skn=", "bad skn"},
		{"too long", Prefix + strings.Repeat("x", MaxTokenLength), "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want ErrMalformed containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secretsig") {
				t.Fatalf("error %q repeats the signature", err)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	tok, err := Parse(Prefix + "sr=a&sig=AAAA&se=100")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Expired(time.Unix(99, 0)) || !tok.Expired(time.Unix(100, 0)) {
		t.Fatal("a token is valid up to, not including, se")
	}
}

// TestAmenzhinskyTokenFormat: that SDK signs url.QueryEscape(host) with
// sr={hubHost} only (PROTOCOL.md §1.3).
func TestAmenzhinskyTokenFormat(t *testing.T) {
	tok, err := Parse(Prefix + "sr=h.example&sig=" + "x&se=1")
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Grants("h.example", "any-device", "") || !tok.Grants("h.example", "d", "mod") {
		t.Fatal("a host-wide resource must grant every identity on the host")
	}
}

func TestPolicyAuthorization(t *testing.T) {
	pols := DefaultPolicies()
	var device Policy
	for _, p := range pols {
		if p.Name == PolicyDevice {
			device = p
		}
	}
	exp := time.Unix(2000000000, 0)
	s, _ := Sign("h.example/devices/d1", device.SecondaryKey, PolicyDevice, exp)
	tok, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := Authorize(pols, tok, DeviceConnect); err != nil {
		t.Fatalf("Authorize(device policy, DeviceConnect) = %v", err)
	}
	if err := Authorize(pols, tok, ServiceConnect); !errors.Is(err, ErrPolicy) {
		t.Fatalf("Authorize(device policy, ServiceConnect) = %v, want ErrPolicy", err)
	}
	tok.KeyName = "nobody"
	if err := Authorize(pols, tok, DeviceConnect); !errors.Is(err, ErrPolicy) {
		t.Fatalf("Authorize(unknown policy) = %v, want ErrPolicy", err)
	}
}
