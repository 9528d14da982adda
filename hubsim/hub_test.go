package hubsim_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// inbox collects the messages a raw client receives, in order.
type inbox struct {
	mu   sync.Mutex
	msgs []paho.Message
}

func (b *inbox) handler(_ paho.Client, m paho.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
}

func (b *inbox) topics() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.msgs {
		out = append(out, m.Topic())
	}
	return out
}

func (b *inbox) find(prefix string) (paho.Message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if strings.HasPrefix(m.Topic(), prefix) {
			return m, true
		}
	}
	return nil, false
}

// TestTwinResponseGoesOnlyToTheConnectionThatAsked proves DESIGN.md decision
// 2 (PROTOCOL.md §2): device B, subscribed to $iothub/twin/res/#, never
// receives device A's twin response. B's own response is requested after A's
// was delivered; a leak of A's response would have arrived on B's connection
// before it.
func TestTwinResponseGoesOnlyToTheConnectionThatAsked(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	var boxA, boxB inbox
	a := hubtest.Connect(t, hubtest.RawOptions(h, "dev-a", hubtest.Device(t, h, "dev-a")))
	b := hubtest.Connect(t, hubtest.RawOptions(h, "dev-b", hubtest.Device(t, h, "dev-b")))
	if _, err := h.UpdateDesired("dev-a", []byte(`{"secretOfA":"a-only"}`)); err != nil {
		t.Fatal(err)
	}
	must(t, hubtest.Wait(a.Subscribe("$iothub/twin/res/#", 0, boxA.handler)))
	must(t, hubtest.Wait(b.Subscribe("$iothub/twin/res/#", 0, boxB.handler)))

	must(t, hubtest.Wait(a.Publish("$iothub/twin/GET/?$rid=a1", 0, false, " ")))
	hubtest.Eventually(t, 5*time.Second, func() bool { _, ok := boxA.find("$iothub/twin/res/200/?$rid=a1"); return ok },
		"device A got no twin response")
	must(t, hubtest.Wait(b.Publish("$iothub/twin/GET/?$rid=b1", 0, false, " ")))
	hubtest.Eventually(t, 5*time.Second, func() bool { _, ok := boxB.find("$iothub/twin/res/200/?$rid=b1"); return ok },
		"device B got no twin response")

	if got := boxB.topics(); len(got) != 1 {
		t.Fatalf("device B received %q, want only its own response", got)
	}
	mb, _ := boxB.find("$iothub/twin/res/200/?$rid=b1")
	if strings.Contains(string(mb.Payload()), "secretOfA") {
		t.Fatalf("device B's twin holds device A's property: %s", mb.Payload())
	}
	ma, _ := boxA.find("$iothub/twin/res/200/?$rid=a1")
	if !strings.Contains(string(ma.Payload()), "a-only") {
		t.Fatalf("device A's twin = %s, want its desired property", ma.Payload())
	}
}

func TestDeviceWithoutValidIdentityIsRefusedAndOthersAreUndisturbed(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	good := hubtest.Connect(t, hubtest.RawOptions(h, "good", hubtest.Device(t, h, "good")))
	foreign, err := testpki.NewCA("impostor CA")
	must(t, err)
	hubtest.Device(t, h, "victim")
	h.CreateDevice("twin-cn")

	tests := []struct {
		name string
		opts *paho.ClientOptions
	}{
		{"certificate from an unknown CA", hubtest.RawOptions(h, "victim", hubtest.Cert(t, foreign, "victim"))},
		{"certificate CN of another device", hubtest.RawOptions(h, "twin-cn", hubtest.Cert(t, h.CA(), "victim"))},
		{"device not in the registry", hubtest.RawOptions(h, "ghost", hubtest.Cert(t, h.CA(), "ghost"))},
		{"no certificate at all", func() *paho.ClientOptions {
			o := hubtest.RawOptions(h, "victim", hubtest.Cert(t, h.CA(), "victim"))
			o.TLSConfig.Certificates = nil
			return o
		}()},
		{"username names another hub", func() *paho.ClientOptions {
			o := hubtest.RawOptions(h, "victim", hubtest.Cert(t, h.CA(), "victim"))
			o.SetUsername("elsewhere.azure-devices.net/victim/?api-version=2021-04-12")
			return o
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := paho.NewClient(tc.opts)
			err := hubtest.Wait(c.Connect())
			if err == nil {
				c.Disconnect(0)
				t.Fatal("hub accepted the connection")
			}
			if !strings.Contains(strings.ToLower(err.Error()), "not authorized") {
				t.Fatalf("connect error = %v, want CONNACK not authorized", err)
			}
		})
	}
	if !good.IsConnectionOpen() {
		t.Fatal("the connected device was dropped")
	}
	must(t, hubtest.Wait(good.Publish("devices/good/messages/events/%24.mid=m1", 1, false, "{}")))
	if h.Events().Seen("good", "m1") != 1 {
		t.Fatal("the connected device's telemetry was not recorded")
	}
}

func TestSDKSessionTelemetryIsRecordedWithIDAndProperties(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	s := connectSession(t, h, "dev-1", nil)
	ctx := context.Background()
	must(t, s.SendEvent(ctx, "dev-1-1-1", []byte(`{"t":1}`), map[string]string{"$.ct": "application/json", "site": "a b/c"}))
	ev := h.Events().Events()
	if len(ev) != 1 {
		t.Fatalf("events = %d, want 1", len(ev))
	}
	e := ev[0]
	if e.DeviceID != "dev-1" || e.MessageID != "dev-1-1-1" || e.Properties["site"] != "a b/c" ||
		e.Properties["$.ct"] != "application/json" || string(e.Body) != `{"t":1}` || e.EnqueuedTime.IsZero() {
		t.Fatalf("event = %+v", e)
	}
}

func TestTwinVersionsAdvanceAndDesiredPatchesReachTheDevice(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	got := make(chan []byte, 4)
	s := connectSession(t, h, "dev-1", func(b []byte) { got <- b })
	ctx := context.Background()
	v1, err := s.Report(ctx, map[string]any{"fw": "1.0"})
	must(t, err)
	v2, err := s.Report(ctx, map[string]any{"fw": nil, "ok": true})
	must(t, err)
	if v2 != v1+1 {
		t.Fatalf("reported versions %d then %d, want +1", v1, v2)
	}
	dv, err := h.UpdateDesired("dev-1", []byte(`{"telemetryIntervalSeconds":5}`))
	must(t, err)
	select {
	case b := <-got:
		var m map[string]any
		must(t, json.Unmarshal(b, &m))
		if m["telemetryIntervalSeconds"] != 5.0 || m["$version"] != float64(dv) {
			t.Fatalf("desired notification = %s, want the patch with $version %d", b, dv)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no desired notification")
	}
	desired, reported, err := s.Twin(ctx)
	must(t, err)
	if desired["$version"] != float64(dv) || reported["ok"] != true || reported["fw"] != nil {
		t.Fatalf("twin desired %v reported %v", desired, reported)
	}
}

func TestPublishingToAnotherDevicesTopicClosesTheConnection(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	hubtest.Device(t, h, "other")
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", hubtest.Device(t, h, "dev-1")))
	c.Publish("devices/other/messages/events/", 1, false, "spoof")
	hubtest.Eventually(t, 5*time.Second, func() bool { return !c.IsConnectionOpen() },
		"connection still open after publishing to another device's topic")
	if h.Events().DeviceCount("other") != 0 || h.Events().DeviceCount("dev-1") != 0 {
		t.Fatal("spoofed telemetry was recorded")
	}
}

func connectSession(t *testing.T, h *hubsim.Hub, id string, onDesired func([]byte)) *hub.Session {
	t.Helper()
	cfg := hubtest.SessionConfig(h, id, hubtest.Device(t, h, id))
	s, err := hub.Connect(context.Background(), cfg, onDesired)
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeleteDeviceDisconnectsAndForgetsEverything: the live connection is
// closed, the twin and the C2D queue go, reconnecting is refused.
func TestDeleteDeviceDisconnectsAndForgetsEverything(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	cert := hubtest.Device(t, h, "dev-1")
	c := hubtest.Connect(t, hubtest.RawOptions(h, "dev-1", cert))
	hubtest.Eventually(t, 5*time.Second, func() bool { return h.Connected("dev-1") }, "not connected")
	must(t, h.SendC2D("dev-1", c2d.Message{Body: []byte("x")}))
	must(t, h.DeleteDevice("dev-1"))
	hubtest.Eventually(t, 5*time.Second, func() bool { return !c.IsConnectionOpen() }, "deleted device still connected")
	if _, err := h.Twin("dev-1"); err == nil {
		t.Fatal("twin survived the delete")
	}
	if n := h.C2DQueueLength("dev-1"); n != 0 {
		t.Fatalf("C2D queue length %d after delete", n)
	}
	if err := hubtest.Wait(paho.NewClient(hubtest.RawOptions(h, "dev-1", cert)).Connect()); err == nil {
		t.Fatal("a deleted device reconnected")
	}
	if err := h.DeleteDevice("dev-1"); err == nil {
		t.Fatal("deleting twice succeeded")
	}
}

// TestSASDeviceConnectionStringAndToken: what the hub hands out for a SAS
// device authenticates it.
func TestSASDeviceConnectionStringAndToken(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	d, err := h.CreateSASDevice("s1")
	must(t, err)
	cs, err := h.DeviceConnectionString("s1")
	must(t, err)
	if want := "HostName=" + h.HostName() + ";DeviceId=s1;SharedAccessKey=" + d.SymmetricKey.PrimaryKey; cs != want {
		t.Fatalf("connection string %q, want %q", cs, want)
	}
	hubtest.Connect(t, hubtest.SASOptions(t, h, "s1"))
	if _, err := h.DeviceConnectionString("nope"); err == nil {
		t.Fatal("connection string for an unknown device")
	}
}
