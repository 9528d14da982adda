package conformance_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amenzhinsky/iothub/iotdevice"
	"github.com/amenzhinsky/iothub/iotservice"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
)

// hubClock is the hub's clock in the throttling tests: it stands still
// unless the test moves it, so buckets refill and the quota day turns
// only when the test says (no sleeping). It starts at the real time, so
// certificates and tokens are valid.
type hubClock struct{ ns atomic.Int64 }

func newHubClock() *hubClock {
	c := &hubClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *hubClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *hubClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// throttledHub starts a hub enforcing cfg on a stopped clock.
func throttledHub(t *testing.T, cfg throttle.Config) (*hubsim.Hub, *hubClock) {
	t.Helper()
	clk := newHubClock()
	return hubtest.NewHub(t, hubsim.Config{Throttle: &cfg, Now: clk.now, KeepEvents: true}), clk
}

// TestTwinUpdateOverTheLimitGets429 (PROTOCOL.md §2.3, §5): an S1 hub
// takes 50 reported-property updates a second; the 51st in the same
// instant is answered on `$iothub/twin/res/429/` with errorCode 429001,
// the limit is the hub's, not the device's, and a second later updates
// pass again.
func TestTwinUpdateOverTheLimitGets429(t *testing.T) {
	h, clk := throttledHub(t, throttle.Config{Tier: throttle.S1})
	c := hubtest.SDKFromX509(t, h, "d1", hubtest.Device(t, h, "d1"))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for i := range 50 {
		if _, err := c.UpdateTwinState(ctx, iotdevice.TwinState{"n": i}); err != nil {
			t.Fatalf("update %d of S1's 50/s: %v", i+1, err)
		}
	}
	if _, err := c.UpdateTwinState(ctx, iotdevice.TwinState{"n": 50}); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("51st update: %v, want the SDK's 429 error", err)
	}
	if _, _, err := c.RetrieveTwinState(ctx); err != nil {
		t.Fatalf("twin read (its own 100/s throttle): %v", err)
	}

	// Another device shares the hub's bucket; the raw response.
	var in inbox
	raw := hubtest.Connect(t, hubtest.RawOptions(h, "d2", hubtest.Device(t, h, "d2")))
	subscribe(t, raw, "$iothub/twin/res/#", 0, in.handler)
	must(t, hubtest.Wait(raw.Publish("$iothub/twin/PATCH/properties/reported/?$rid=7", 1, false, `{"a":1}`)))
	m := in.wait(t, "$iothub/twin/res/")
	var body struct {
		ErrorCode int    `json:"errorCode"`
		Message   string `json:"message"`
	}
	must(t, json.Unmarshal(m.Payload(), &body))
	if m.Topic() != "$iothub/twin/res/429/?$rid=7" || body.ErrorCode != 429001 || body.Message == "" {
		t.Fatalf("response %s %s, want $iothub/twin/res/429/?$rid=7 with errorCode 429001", m.Topic(), m.Payload())
	}

	clk.add(time.Second)
	if _, err := c.UpdateTwinState(ctx, iotdevice.TwinState{"n": 51}); err != nil {
		t.Fatalf("update a second later: %v", err)
	}
	if st := h.ThrottleStats(); st.Throttled[throttle.TwinUpdates] != 2 || len(st.Throttled) != 1 {
		t.Fatalf("throttle stats %+v, want 2 twin updates refused", st.Throttled)
	}
}

// restCall is one REST request the test sends with the hub's credentials.
type restCall struct {
	name, method, path, body string
	device                   bool // authenticate as device d1 (file upload), else as iothubowner
}

// TestRESTOverTheLimitGets429ThrottlingException (PROTOCOL.md §4-5): each
// REST operation class admits its burst and then answers HTTP 429 with
// `iothub-errorcode: ThrottlingException` and errorCode 429001 in IoT Hub's
// error body, the third-party service SDK included; S1's slow classes
// (registry 1.67/s, queries 20/min, file uploads 1.67/s, C2D 1.67/s) admit
// one call per instant.
func TestRESTOverTheLimitGets429ThrottlingException(t *testing.T) {
	h, clk := throttledHub(t, throttle.Config{Tier: throttle.S1,
		Rates: map[throttle.Class]float64{throttle.TwinReads: 1, throttle.TwinUpdates: 1, throttle.Methods: 1}})
	_, err := h.CreateSASDevice("d1")
	must(t, err)
	calls := []restCall{
		{"registry", "GET", "/devices/d1", "", false},
		{"query", "POST", "/devices/query", `{"query":"SELECT * FROM devices"}`, false},
		{"twin read", "GET", "/twins/d1", "", false},
		{"twin update", "PATCH", "/twins/d1", `{"properties":{"desired":{"a":1}}}`, false},
		{"direct method", "POST", "/twins/d1/methods", `{"methodName":"m","responseTimeoutInSeconds":5}`, false},
		{"file upload", "POST", "/devices/d1/files", `{"blobName":"x.txt"}`, true},
		{"C2D send (hubsim's)", "POST", "/_sim/devices/d1/messages", `{"body":"aGk="}`, false},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if res := rest(t, h, c); res.StatusCode == 429 {
				t.Fatalf("first call: 429, want the operation's own answer")
			}
			res := rest(t, h, c)
			body := errorBody(t, res)
			if res.StatusCode != 429 || res.Header.Get("iothub-errorcode") != "ThrottlingException" || body.ErrorCode != 429001 {
				t.Fatalf("second call: %d %q %+v, want 429 ThrottlingException 429001", res.StatusCode, res.Header.Get("iothub-errorcode"), body)
			}
		})
	}
	svc, err := iotservice.NewFromConnectionString(h.ServiceConnectionString(), iotservice.WithHTTPClient(hubHTTPClient(t, h, nil)))
	must(t, err)
	defer svc.Close()
	_, err = svc.GetDevice(context.Background(), "d1")
	var re *iotservice.RequestError
	if !errors.As(err, &re) || re.Code != 429 || !bytes.Contains(re.Body, []byte("429001")) {
		t.Fatalf("iotservice GetDevice: %v, want RequestError 429 with 429001", err)
	}
	clk.add(time.Second)
	if _, err := svc.GetDevice(context.Background(), "d1"); err != nil {
		t.Fatalf("GetDevice a second later: %v", err)
	}
	if n := h.ThrottleStats().Throttled[throttle.Registry]; n != 2 {
		t.Fatalf("registry refusals = %d, want 2", n)
	}
}

// TestDailyQuotaExhaustedGets403002 (PROTOCOL.md §5): telemetry is metered
// in 4 KB chunks; once the day's quota is used up the hub closes the
// connection of a device that sends (the message is not recorded), answers
// twin requests with 403 / 403002 and REST calls with 403
// IotHubQuotaExceeded, still accepts connections, and everything works
// again at midnight UTC of the hub's clock.
func TestDailyQuotaExhaustedGets403002(t *testing.T) {
	h, clk := throttledHub(t, throttle.Config{Tier: throttle.S1, DailyQuota: 3})
	cert := hubtest.Device(t, h, "d1")
	c := hubtest.Connect(t, hubtest.RawOptions(h, "d1", cert))
	must(t, hubtest.Wait(c.Publish("devices/d1/messages/events/%24.mid=big", 1, false, bytes.Repeat([]byte("x"), 5*1024))))
	must(t, hubtest.Wait(c.Publish("devices/d1/messages/events/%24.mid=small", 1, false, "{}")))
	if st := h.ThrottleStats(); st.MessagesToday != 3 {
		t.Fatalf("metered %d messages, want 3 (5 KB counts as two)", st.MessagesToday)
	}
	c.Publish("devices/d1/messages/events/%24.mid=over", 1, false, "{}")
	waitClosed(t, c, "a send over the daily quota")
	if n := h.Events().Seen("d1", "over"); n != 0 {
		t.Fatalf("message over the quota recorded %d times", n)
	}

	var in inbox
	c2 := hubtest.Connect(t, hubtest.RawOptions(h, "d1", cert)) // connections are not refused
	subscribe(t, c2, "$iothub/twin/res/#", 0, in.handler)
	must(t, hubtest.Wait(c2.Publish("$iothub/twin/GET/?$rid=1", 0, false, "")))
	if m := in.wait(t, "$iothub/twin/res/"); m.Topic() != "$iothub/twin/res/403/?$rid=1" || !bytes.Contains(m.Payload(), []byte(`"errorCode":403002`)) {
		t.Fatalf("twin GET over the quota: %s %s, want 403 with errorCode 403002", m.Topic(), m.Payload())
	}
	res := rest(t, h, restCall{"twin read", "GET", "/twins/d1", "", false})
	if body := errorBody(t, res); res.StatusCode != 403 || res.Header.Get("iothub-errorcode") != "IotHubQuotaExceeded" ||
		body.ErrorCode != 403002 || !strings.Contains(body.Message, "until the next UTC day") {
		t.Fatalf("REST over the quota: %d %q %+v, want 403 IotHubQuotaExceeded 403002", res.StatusCode, res.Header.Get("iothub-errorcode"), body)
	}

	y, mo, d := clk.now().UTC().Date()
	clk.add(time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC).Sub(clk.now()))
	if res := rest(t, h, restCall{"twin read", "GET", "/twins/d1", "", false}); res.StatusCode != 200 {
		t.Fatalf("REST at midnight UTC: %d, want 200", res.StatusCode)
	}
	must(t, hubtest.Wait(c2.Publish("devices/d1/messages/events/%24.mid=tomorrow", 1, false, "{}")))
	if n := h.Events().Seen("d1", "tomorrow"); n != 1 {
		t.Fatalf("message after midnight recorded %d times, want 1", n)
	}
}

// TestConnectsOverTheRateAreRefusedWithServerUnavailable: a CONNECT over
// the new-connection rate gets CONNACK 3 (server unavailable), which SDKs
// retry later; an unknown identity is still refused as not authorized.
func TestConnectsOverTheRateAreRefusedWithServerUnavailable(t *testing.T) {
	h, clk := throttledHub(t, throttle.Config{Tier: throttle.S1, Rates: map[throttle.Class]float64{throttle.Connect: 1}})
	c1, c2 := hubtest.Device(t, h, "d1"), hubtest.Device(t, h, "d2")
	if got := connack(t, hubtest.RawOptions(h, "d1", c1)); got != 0 {
		t.Fatalf("first connect: CONNACK %d", got)
	}
	if got := connack(t, hubtest.RawOptions(h, "d2", c2)); got != 3 {
		t.Fatalf("connect over the rate: CONNACK %d, want 3", got)
	}
	if got := connack(t, hubtest.RawOptions(h, "nobody", hubtest.Cert(t, h.CA(), "nobody"))); got != 5 {
		t.Fatalf("unknown device: CONNACK %d, want 5", got)
	}
	clk.add(time.Second)
	if got := connack(t, hubtest.RawOptions(h, "d2", c2)); got != 0 {
		t.Fatalf("connect a second later: CONNACK %d", got)
	}
}

// TestD2COverTheRateIsShapedThenTheDeviceIsDisconnected: telemetry over
// the rate is held before its PUBACK (traffic shaping: each waits its turn
// at the limit rate, order kept), and when the wait would pass the shaping
// bound the hub closes the connection; messages it still held were never
// acknowledged and are not recorded.
func TestD2COverTheRateIsShapedThenTheDeviceIsDisconnected(t *testing.T) {
	h, _ := throttledHub(t, throttle.Config{Tier: throttle.S1, ShapingDelay: 2 * time.Second,
		Rates: map[throttle.Class]float64{throttle.D2C: 2}})
	c := hubtest.Connect(t, hubtest.RawOptions(h, "d1", hubtest.Device(t, h, "d1")))
	send := func(i int) paho.Token {
		return c.Publish(fmt.Sprintf("devices/d1/messages/events/%%24.mid=m%d", i), 1, false, "{}")
	}
	start := time.Now()
	var toks []paho.Token
	for i := 1; i <= 4; i++ { // two at once, then 500 ms and 1 s
		toks = append(toks, send(i))
	}
	for _, tok := range toks {
		must(t, hubtest.Wait(tok))
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("4 sends at 2/s acknowledged after %v, want at least 1 s of shaping", d)
	}
	var order []string
	for _, e := range h.Events().Events() {
		order = append(order, e.MessageID)
	}
	if got := strings.Join(order, ","); got != "m1,m2,m3,m4" {
		t.Fatalf("recorded %s, want m1..m4 in order", got)
	}
	for i := 5; i <= 7; i++ { // held 1.5 s, held 2 s, refused (2.5 s > 2 s)
		send(i)
	}
	waitClosed(t, c, "a send past the shaping bound")
	hubtest.Eventually(t, waitFor, func() bool { return h.Registry().ConnectedCount() == 0 }, "device still counted connected")
	if n := len(h.Events().Events()); n != 4 {
		t.Fatalf("%d messages recorded, want the 4 acknowledged ones", n)
	}
	if st := h.ThrottleStats(); st.Shaped[throttle.D2C] != 4 || st.Throttled[throttle.D2C] != 1 {
		t.Fatalf("stats shaped %v throttled %v, want 4 and 1 D2C", st.Shaped, st.Throttled)
	}
}

// TestThrottlingIsOffByDefault: without Config.Throttle nothing is
// limited: twin updates past S1's 50, back-to-back registry calls,
// connects; the stats stay empty.
func TestThrottlingIsOffByDefault(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := hubtest.SDKFromX509(t, h, "d1", hubtest.Device(t, h, "d1"))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for i := range 60 {
		if _, err := c.UpdateTwinState(ctx, iotdevice.TwinState{"n": i}); err != nil {
			t.Fatalf("update %d: %v", i+1, err)
		}
	}
	for range 3 {
		if res := rest(t, h, restCall{"registry", "GET", "/devices/d1", "", false}); res.StatusCode != 200 {
			t.Fatalf("registry GET: %d", res.StatusCode)
		}
	}
	cert := hubtest.Device(t, h, "d2")
	for range 3 {
		if got := connack(t, hubtest.RawOptions(h, "d2", cert)); got != 0 {
			t.Fatalf("connect: CONNACK %d", got)
		}
	}
	if st := h.ThrottleStats(); len(st.Throttled) != 0 || st.QuotaExceeded != 0 || st.MessagesToday != 0 {
		t.Fatalf("stats %+v with throttling off", st)
	}
}

// hubHTTPClient reaches the hub's HTTPS endpoint whatever host a URL
// names, trusting its CA, with an optional client certificate.
func hubHTTPClient(t testing.TB, h *hubsim.Hub, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: h.CA().Pool(), ServerName: h.HostName(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", h.HTTPSAddr())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitFor}
}

// rest sends c with an iothubowner token (or d1's device token) and
// returns the response with its body read.
func rest(t *testing.T, h *hubsim.Hub, c restCall) *http.Response {
	t.Helper()
	var tok string
	var err error
	if c.device {
		tok, err = h.DeviceToken("d1", h.Now().Add(time.Hour)) // the hub's clock may be ahead
	} else {
		tok, err = sas.Sign(h.HostName(), ownerKey(h), sas.PolicyOwner, h.Now().Add(time.Hour))
	}
	must(t, err)
	req, err := http.NewRequest(c.method, "https://"+h.HostName()+c.path+"?api-version=2021-04-12", strings.NewReader(c.body))
	must(t, err)
	req.Header.Set("Authorization", tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := hubHTTPClient(t, h, nil).Do(req)
	must(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(t, err)
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res
}

func ownerKey(h *hubsim.Hub) string {
	for _, p := range h.Policies() {
		if p.Name == sas.PolicyOwner {
			return p.PrimaryKey
		}
	}
	return ""
}

// hubError is the inner error of IoT Hub's REST error body, whose Message
// is itself JSON.
type hubError struct {
	ErrorCode  int    `json:"errorCode"`
	TrackingID string `json:"trackingId"`
	Message    string `json:"message"`
}

func errorBody(t *testing.T, res *http.Response) hubError {
	t.Helper()
	var outer struct{ Message string }
	var e hubError
	b, _ := io.ReadAll(res.Body)
	if json.Unmarshal(b, &outer) == nil {
		json.Unmarshal([]byte(outer.Message), &e)
	}
	return e
}
