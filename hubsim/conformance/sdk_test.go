package conformance_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/amenzhinsky/iothub/iotdevice"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// sdkCase connects one amenzhinsky SDK client in some way.
type sdkCase struct {
	name     string
	auth     string // expected "type" in iothub-connection-auth-method
	register func(t *testing.T, h *hubsim.Hub, id string) *iotdevice.Client
}

var sdkCases = []sdkCase{
	{"X.509 CA-signed", "x509CA", func(t *testing.T, h *hubsim.Hub, id string) *iotdevice.Client {
		return hubtest.SDKFromX509(t, h, id, hubtest.Device(t, h, id))
	}},
	{"X.509 self-signed", "x509Certificate", func(t *testing.T, h *hubsim.Hub, id string) *iotdevice.Client {
		cert, _, s256 := hubtest.SelfSignedCert(t, "any-cn")
		if _, err := h.CreateSelfSignedDevice(id, s256, ""); err != nil {
			t.Fatal(err)
		}
		return hubtest.SDKFromX509(t, h, id, cert)
	}},
	{"SAS connection string", "sas", func(t *testing.T, h *hubsim.Hub, id string) *iotdevice.Client {
		hubtest.SASDevice(t, h, id)
		cs, err := h.DeviceConnectionString(id)
		must(t, err)
		return hubtest.SDKFromConnectionString(t, h, cs)
	}},
}

// TestSDKTelemetryIsRecordedWithHubProperties: amenzhinsky's SendEvent
// (QoS 1, `{host}/{id}/api-version=...` user name without `?`) is recorded
// with its properties and those the hub stamps (PROTOCOL.md §2.1).
func TestSDKTelemetryIsRecordedWithHubProperties(t *testing.T) {
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
			c := tc.register(t, h, "dev-1")
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			must(t, c.SendEvent(ctx, []byte(`{"t":1}`), iotdevice.WithSendMessageID("m-1"),
				iotdevice.WithSendProperty("site", "a b/c")))
			e := event(t, h, "dev-1", 1)
			dev, _ := h.Registry().Get("dev-1")
			want := map[string]string{
				"$.mid": "m-1", "site": "a b/c",
				eventlog.PropDeviceID: "dev-1", eventlog.PropSource: eventlog.SourceTelemetry,
				eventlog.PropGenerationID: dev.GenerationID,
			}
			for k, v := range want {
				if e.Properties[k] != v {
					t.Errorf("property %s = %q, want %q (all: %v)", k, e.Properties[k], v, e.Properties)
				}
			}
			var am map[string]any
			must(t, json.Unmarshal([]byte(e.Properties[eventlog.PropAuthMethod]), &am))
			if am["type"] != tc.auth || am["scope"] != "device" {
				t.Errorf("auth method = %v, want type %s", am, tc.auth)
			}
			if _, err := time.Parse(eventlog.TimeFormat, e.Properties[eventlog.PropEnqueuedTime]); err != nil {
				t.Errorf("enqueued time %q: %v", e.Properties[eventlog.PropEnqueuedTime], err)
			}
		})
	}
}

// TestSDKTwinGetUpdateAndDesiredPatches: RetrieveTwinState,
// UpdateTwinState (204 with the new version) and SubscribeTwinUpdates.
func TestSDKTwinGetUpdateAndDesiredPatches(t *testing.T) {
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			h := hubtest.NewHub(t, hubsim.Config{})
			c := tc.register(t, h, "dev-1")
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			sub, err := c.SubscribeTwinUpdates(ctx)
			must(t, err)
			v1, err := c.UpdateTwinState(ctx, iotdevice.TwinState{"fw": "1.0"})
			must(t, err)
			v2, err := c.UpdateTwinState(ctx, iotdevice.TwinState{"fw": nil, "ok": true})
			must(t, err)
			if v2 != v1+1 {
				t.Fatalf("reported versions %d then %d", v1, v2)
			}
			dv, err := h.UpdateDesired("dev-1", []byte(`{"interval":5}`))
			must(t, err)
			select {
			case s := <-sub.C():
				if s["interval"] != 5.0 || s.Version() != dv {
					t.Fatalf("desired patch = %v, want interval 5 at $version %d", s, dv)
				}
			case <-ctx.Done():
				t.Fatal("no desired patch")
			}
			desired, reported, err := c.RetrieveTwinState(ctx)
			must(t, err)
			if desired.Version() != dv || reported["ok"] != true || reported["fw"] != nil {
				t.Fatalf("twin desired %v reported %v", desired, reported)
			}
		})
	}
}

// TestSDKDirectMethodRoundTrip: RegisterMethod on the device,
// Hub.InvokeMethod from the service side.
func TestSDKDirectMethodRoundTrip(t *testing.T) {
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			h := hubtest.NewHub(t, hubsim.Config{})
			c := tc.register(t, h, "dev-1")
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			// The SDK sends its answer with this context and waits for the
			// PUBACK, which may come after InvokeMethod returned: it must
			// live until the test's cleanup.
			mctx, mcancel := context.WithCancel(context.Background())
			t.Cleanup(mcancel)
			must(t, c.RegisterMethod(mctx, "reboot", func(p map[string]interface{}) (int, map[string]interface{}, error) {
				return 201, map[string]interface{}{"got": p["delay"]}, nil
			}))
			st, resp, err := h.InvokeMethod(ctx, "dev-1", "reboot", []byte(`{"delay":3}`), 5*time.Second)
			must(t, err)
			if st != 201 || string(resp) != `{"got":3}` {
				t.Fatalf("InvokeMethod = %d %s, want 201 {\"got\":3}", st, resp)
			}
		})
	}
}

// TestSDKReceivesC2DAndPubackCompletes: SubscribeEvents on the device,
// Hub.SendC2D from the service; the SDK's PUBACK completes the message
// (feedback Success) and empties the queue.
func TestSDKReceivesC2DAndPubackCompletes(t *testing.T) {
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			h := hubtest.NewHub(t, hubsim.Config{})
			c := tc.register(t, h, "dev-1")
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			sub, err := c.SubscribeEvents(ctx)
			must(t, err)
			must(t, h.SendC2D("dev-1", c2d.Message{MessageID: "c-1", CorrelationID: "corr", Ack: c2d.AckFull,
				Properties: map[string]string{"k": "v w"}, Body: []byte("hello")}))
			select {
			case m := <-sub.C():
				if string(m.Payload) != "hello" || m.MessageID != "c-1" || m.CorrelationID != "corr" ||
					m.Properties["k"] != "v w" || m.To != "/devices/dev-1/messages/deviceBound" {
					t.Fatalf("C2D message = %+v", m)
				}
			case <-ctx.Done():
				t.Fatal("no C2D message")
			}
			hubtest.Eventually(t, waitFor, func() bool { return h.C2DQueueLength("dev-1") == 0 },
				"C2D message still queued after the SDK's PUBACK")
			if fb := h.C2DFeedback(); len(fb) != 1 || fb[0].StatusCode != c2d.StatusSuccess {
				t.Fatalf("feedback = %+v, want one Success", fb)
			}
		})
	}
}
