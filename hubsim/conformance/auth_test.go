package conformance_test

import (
	"crypto/tls"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// connack connects with o and returns the CONNACK return code (0 =
// accepted); an accepted client is disconnected at cleanup.
func connack(t *testing.T, o *paho.ClientOptions) byte {
	t.Helper()
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(waitFor) {
		t.Fatal("connect timed out")
	}
	code := tok.(*paho.ConnectToken).ReturnCode()
	if code == 0 {
		t.Cleanup(func() { c.Disconnect(0) })
	}
	return code
}

// TestSASAuthentication (PROTOCOL.md §1.3): device-key tokens with the
// primary or secondary key, hub-wide sr (amenzhinsky) or per device sr,
// policy tokens with skn=device; refusals with CONNACK 5.
func TestSASAuthentication(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dev := hubtest.SASDevice(t, h, "s1")
	hubtest.SASDevice(t, h, "s2")
	hubtest.Device(t, h, "x509-only")
	exp := h.Now().Add(time.Hour)
	var devicePolicy, servicePolicy sas.Policy
	for _, p := range h.Policies() {
		switch p.Name {
		case sas.PolicyDevice:
			devicePolicy = p
		case sas.PolicyService:
			servicePolicy = p
		}
	}
	sign := func(res, key, skn string, exp time.Time) string {
		s, err := sas.Sign(res, key, skn, exp)
		must(t, err)
		return s
	}
	host := h.HostName()
	tests := []struct {
		name     string
		id, pass string
		want     byte
	}{
		{"primary key, device sr", "s1", sign(host+"/devices/s1", dev.SymmetricKey.PrimaryKey, "", exp), 0},
		{"secondary key", "s1", sign(host+"/devices/s1", dev.SymmetricKey.SecondaryKey, "", exp), 0},
		{"hub-wide sr as amenzhinsky signs it", "s1", sign(host, dev.SymmetricKey.PrimaryKey, "", exp), 0},
		{"device policy token", "s2", sign(host+"/devices/s2", devicePolicy.PrimaryKey, sas.PolicyDevice, exp), 0},
		{"device policy for an X.509 device", "x509-only", sign(host, devicePolicy.SecondaryKey, sas.PolicyDevice, exp), 0},
		{"service policy lacks DeviceConnect", "s2", sign(host, servicePolicy.PrimaryKey, sas.PolicyService, exp), 5},
		{"another device's key", "s2", sign(host+"/devices/s2", dev.SymmetricKey.PrimaryKey, "", exp), 5},
		{"token for another device", "s1", sign(host+"/devices/s2", dev.SymmetricKey.PrimaryKey, "", exp), 5},
		{"expired token", "s1", sign(host+"/devices/s1", dev.SymmetricKey.PrimaryKey, "", h.Now().Add(-time.Second)), 5},
		{"not a token", "s1", "password", 5},
		{"device key for an X.509 device", "x509-only", sign(host+"/devices/x509-only", dev.SymmetricKey.PrimaryKey, "", exp), 5},
		{"unknown device", "ghost", sign(host+"/devices/ghost", dev.SymmetricKey.PrimaryKey, "", exp), 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := hubtest.RawOptions(h, tc.id, tls.Certificate{})
			o.TLSConfig.Certificates = nil
			o.SetPassword(tc.pass)
			if got := connack(t, o); got != tc.want {
				t.Fatalf("CONNACK = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestSelfSignedThumbprints (PROTOCOL.md §1.4): SHA-1 or SHA-256,
// primary or secondary; the CN is not checked; a mismatch is refused.
func TestSelfSignedThumbprints(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	a, a1, _ := hubtest.SelfSignedCert(t, "whatever")
	b, _, b256 := hubtest.SelfSignedCert(t, "other-cn")
	stranger, _, _ := hubtest.SelfSignedCert(t, "ss-1")
	_, err := h.CreateSelfSignedDevice("ss-1", a1, b256)
	must(t, err)
	for _, tc := range []struct {
		name string
		cert tls.Certificate
		want byte
	}{
		{"SHA-1 primary", a, 0},
		{"SHA-256 secondary", b, 0},
		{"unregistered certificate with the right CN", stranger, 5},
		{"CA-issued certificate", hubtest.Cert(t, h.CA(), "ss-1"), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := connack(t, hubtest.RawOptions(h, "ss-1", tc.cert)); got != tc.want {
				t.Fatalf("CONNACK = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestDisabledDeviceIsRefusedWithConfigurableCode (PROTOCOL.md §10) and a
// connected device that gets disabled is disconnected.
func TestDisabledDeviceIsRefusedWithConfigurableCode(t *testing.T) {
	for _, tc := range []struct {
		code, want byte
	}{{0, 5}, {3, 3}} {
		h := hubtest.NewHub(t, hubsim.Config{DisabledCode: tc.code})
		cert := hubtest.Device(t, h, "d1")
		c := hubtest.Connect(t, hubtest.RawOptions(h, "d1", cert))
		must(t, h.SetDeviceStatus("d1", registry.StatusDisabled))
		waitClosed(t, c, "the device was disabled")
		hubtest.Eventually(t, waitFor, func() bool { return h.Registry().ConnectedCount() == 0 }, "device still counted connected")
		if got := connack(t, hubtest.RawOptions(h, "d1", cert)); got != tc.want {
			t.Fatalf("DisabledCode %d: CONNACK = %d, want %d", tc.code, got, tc.want)
		}
		must(t, h.SetDeviceStatus("d1", registry.StatusEnabled))
		if got := connack(t, hubtest.RawOptions(h, "d1", cert)); got != 0 {
			t.Fatalf("re-enabled device: CONNACK = %d", got)
		}
	}
}

// TestUsernameVariantsAreAccepted (PROTOCOL.md §1.2): with and without
// `?`, every api-version in use, raw or encoded model-id, a client type.
func TestUsernameVariantsAreAccepted(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	cert := hubtest.Device(t, h, "d1")
	host := h.HostName()
	for _, u := range []string{
		host + "/d1/?api-version=2021-04-12",
		host + "/d1/api-version=2020-09-30",
		host + "/d1/api-version=2016-11-14&DeviceClientType=iothubclient%2F1.1.0",
		host + "/d1/?api-version=2019-10-01",
		host + "/d1/?api-version=2025-08-01-preview",
		host + "/d1/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1&DeviceClientType=azure-iot-device%2F1.18.4%20(node)",
		host + "/d1/?api-version=2020-09-30&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1",
		"LOCALHOST/d1/?api-version=2021-04-12",
	} {
		o := hubtest.RawOptions(h, "d1", cert)
		o.SetUsername(u)
		c := paho.NewClient(o)
		if err := hubtest.Wait(c.Connect()); err != nil {
			t.Errorf("user name %q refused: %v", u, err)
			continue
		}
		c.Disconnect(0)
	}
	o := hubtest.RawOptions(h, "d1", cert)
	o.SetUsername(host + "/d1/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1")
	c := hubtest.Connect(t, o)
	must(t, hubtest.Wait(c.Publish("devices/d1/messages/events/", 1, false, "x")))
	if e := event(t, h, "d1", 1); e.Properties["dt-dataschema"] != "dtmi:com:example:Thermostat;1" {
		t.Fatalf("dt-dataschema = %q", e.Properties["dt-dataschema"])
	}
}

// TestSecondConnectionTakesOver (PROTOCOL.md §1.5): the first connection
// is dropped, the registry keeps the device connected, and only when the
// second closes is it disconnected.
func TestSecondConnectionTakesOver(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	cert := hubtest.Device(t, h, "d1")
	first := hubtest.Connect(t, hubtest.RawOptions(h, "d1", cert))
	second := hubtest.Connect(t, hubtest.RawOptions(h, "d1", cert))
	waitClosed(t, first, "a second connection with the same id")
	// The old connection's end and the new one's start may be recorded in
	// either order (IoT Hub, too, reports a disconnect and a connect).
	hubtest.Eventually(t, waitFor, func() bool {
		return second.IsConnectionOpen() && h.Connected("d1") && h.Registry().ConnectedCount() == 1
	}, "the second connection is not the live one")
	var box inbox
	subscribe(t, second, "$iothub/twin/res/#", 0, box.handler)
	must(t, hubtest.Wait(second.Publish("$iothub/twin/GET/?$rid=1", 0, false, "")))
	box.wait(t, "$iothub/twin/res/200/?$rid=1")
	second.Disconnect(100)
	hubtest.Eventually(t, waitFor, func() bool { return !h.Connected("d1") && h.Registry().ConnectedCount() == 0 },
		"device still connected after its live connection closed")
	d, _ := h.Registry().Get("d1")
	if d.Connected {
		t.Fatal("registry says connected")
	}
}

// TestExpiredTokenDisconnectsALiveConnection (PROTOCOL.md §1.3): the hub
// closes a SAS connection when its token expires; X.509 and fresh tokens
// stay.
func TestExpiredTokenDisconnectsALiveConnection(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	hubtest.SASDevice(t, h, "short")
	hubtest.SASDevice(t, h, "long")
	o := hubtest.SASOptions(t, h, "short")
	o.SetPassword(hubtest.Token(t, h, "short", 2*time.Second))
	short := hubtest.Connect(t, o)
	long := hubtest.Connect(t, hubtest.SASOptions(t, h, "long"))
	start := time.Now()
	waitClosed(t, short, "the token expired")
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("closed %v after connect, token lived 2s", d)
	}
	if !long.IsConnectionOpen() {
		t.Fatal("a connection with a valid token was closed too")
	}
	hubtest.Eventually(t, waitFor, func() bool { return !h.Connected("short") }, "registry still has the expired connection")
}

// TestModuleIdentityConnectsWithSAS: a module (`{device}/{module}` client
// id, module sr) authenticates and sends module telemetry.
func TestModuleIdentityConnectsWithSAS(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	hubtest.SASDevice(t, h, "d1")
	_, err := h.AddDevice(registry.Device{ID: "d1/m1", Auth: registry.AuthSAS})
	must(t, err)
	c := hubtest.Connect(t, hubtest.SASOptions(t, h, "d1/m1"))
	must(t, hubtest.Wait(c.Publish("devices/d1/modules/m1/messages/events/%24.mid=x", 1, false, "{}")))
	e := event(t, h, "d1", 1)
	if e.ModuleID != "m1" || e.Properties["iothub-connection-module-id"] != "m1" || e.MessageID != "x" {
		t.Fatalf("module event = %+v", e)
	}
}

// TestRefusedConnectDoesNotTakeOver: a CONNECT that fails authentication
// for a connected device's id leaves the live connection alone (mochi only
// takes a session over after the hook admitted the newcomer).
func TestRefusedConnectDoesNotTakeOver(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	hubtest.SASDevice(t, h, "s1")
	live := hubtest.Connect(t, hubtest.SASOptions(t, h, "s1"))
	hubtest.Eventually(t, waitFor, func() bool { return h.Connected("s1") }, "not connected")
	o := hubtest.SASOptions(t, h, "s1")
	o.SetPassword(hubtest.Token(t, h, "s1", -time.Minute)) // expired
	if got := connack(t, o); got != 5 {
		t.Fatalf("CONNACK = %d, want 5", got)
	}
	var box inbox
	subscribe(t, live, "$iothub/twin/res/#", 0, box.handler)
	must(t, hubtest.Wait(live.Publish("$iothub/twin/GET/?$rid=still-here", 0, false, "")))
	box.wait(t, "$iothub/twin/res/200/?$rid=still-here")
	if !h.Connected("s1") {
		t.Fatal("the refused attempt disconnected the live device")
	}
}
