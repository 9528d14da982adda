package hubsim_test

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
	"os"
	"strings"
	"testing"
	"time"

	"github.com/amenzhinsky/iothub/iotdevice"
	iothttp "github.com/amenzhinsky/iothub/iotdevice/transport/http"
	"github.com/amenzhinsky/iothub/iotservice"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// hubHTTP is an HTTP client for the hub's HTTPS endpoint: it trusts the
// hub's CA and dials the hub whatever host the URL names (the SDKs build
// URLs from the connection string's HostName).
func hubHTTP(t testing.TB, h *hubsim.Hub) *http.Client {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: h.CA().Pool(), ServerName: h.HostName(), MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", h.HTTPSAddr())
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// serviceClient is the third-party iotservice client on the hub's
// iothubowner connection string.
func serviceClient(t testing.TB, h *hubsim.Hub) *iotservice.Client {
	t.Helper()
	c, err := iotservice.NewFromConnectionString(h.ServiceConnectionString(), iotservice.WithHTTPClient(hubHTTP(t, h)))
	if err != nil {
		t.Fatalf("iotservice.NewFromConnectionString: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func statusOf(err error) int {
	var re *iotservice.RequestError
	if errors.As(err, &re) {
		return re.Code
	}
	var bad *iotservice.BadRequestError
	if errors.As(err, &bad) {
		return 400
	}
	return 0
}

// TestServiceSDKRegistry: the iotservice client creates (keys generated),
// reads, updates (If-Match etag), lists and deletes devices over REST
// (PROTOCOL.md §4 "Registry").
func TestServiceSDKRegistry(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := serviceClient(t, h)
	ctx := ctxT(t)
	d, err := c.CreateDevice(ctx, &iotservice.Device{DeviceID: "sdk-1", Authentication: &iotservice.Authentication{Type: iotservice.AuthSAS}})
	if err != nil {
		t.Fatalf("CreateDevice: %v", err)
	}
	if d.Authentication.SymmetricKey.PrimaryKey == "" || d.ETag == "" || d.Status != iotservice.Enabled || d.ConnectionState != iotservice.Disconnected {
		t.Fatalf("created %+v", d)
	}
	if _, err := c.CreateDevice(ctx, &iotservice.Device{DeviceID: "sdk-1"}); statusOf(err) != 409 {
		t.Fatalf("second CreateDevice = %v, want 409", err)
	}
	d.Status = iotservice.Disabled
	u, err := c.UpdateDevice(ctx, d)
	if err != nil || u.Status != iotservice.Disabled || u.ETag == d.ETag {
		t.Fatalf("UpdateDevice = %+v, %v", u, err)
	}
	if _, err := c.UpdateDevice(ctx, d); statusOf(err) != 412 {
		t.Fatalf("UpdateDevice with a stale etag = %v, want 412", err)
	}
	if _, err := c.CreateDevice(ctx, &iotservice.Device{DeviceID: "sdk-2", Authentication: &iotservice.Authentication{Type: iotservice.AuthCA}}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListDevices(ctx)
	if err != nil || len(list) != 2 || list[0].DeviceID != "sdk-1" || list[1].Authentication.Type != iotservice.AuthCA {
		t.Fatalf("ListDevices = %v, %v", list, err)
	}
	if err := c.DeleteDevice(ctx, u); err != nil {
		t.Fatalf("DeleteDevice: %v", err)
	}
	if _, err := c.GetDevice(ctx, "sdk-1"); statusOf(err) != 404 {
		t.Fatalf("GetDevice after delete = %v, want 404", err)
	}
	if _, err := h.Twin("sdk-1"); err == nil {
		t.Fatal("the twin survived the delete")
	}
}

// TestServiceSDKTwins: the iotservice client updates tags and desired
// properties; a device connected with the SDK's MQTT transport receives
// the desired patch; the service reads back the device's reported
// properties (REQ-TWIN, PROTOCOL.md §2.3, §4 "Twin").
func TestServiceSDKTwins(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dev := hubtest.SDKFromX509(t, h, "twin-1", hubtest.Device(t, h, "twin-1"))
	ctx := ctxT(t)
	sub, err := dev.SubscribeTwinUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.UpdateTwinState(ctx, iotdevice.TwinState{"firmware": "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	c := serviceClient(t, h)
	twin, err := c.UpdateDeviceTwin(ctx, &iotservice.Twin{DeviceID: "twin-1",
		Tags: map[string]any{"ward": "icu"}, Properties: &iotservice.Properties{Desired: map[string]any{"interval": 30}}})
	if err != nil {
		t.Fatalf("UpdateDeviceTwin: %v", err)
	}
	if twin.Tags["ward"] != "icu" || twin.Properties.Desired["interval"] != 30.0 || twin.ConnectionState != iotservice.Connected {
		t.Fatalf("updated twin = %+v", twin)
	}
	select {
	case s := <-sub.C():
		if s["interval"] != 30.0 || s.Version() != 2 {
			t.Fatalf("desired notification = %v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the device got no desired notification")
	}
	got, err := c.GetDeviceTwin(ctx, "twin-1")
	if err != nil || got.Properties.Reported["firmware"] != "1.2.3" || got.ETag != twin.ETag {
		t.Fatalf("GetDeviceTwin = %+v, %v", got, err)
	}
	twin.ETag = "AAAAAAAAAAA="
	if _, err := c.UpdateDeviceTwin(ctx, twin); statusOf(err) != 412 {
		t.Fatalf("UpdateDeviceTwin with a stale etag = %v, want 412", err)
	}
}

// TestServiceSDKQuery: QueryDevices runs the query language over twins and
// follows x-ms-continuation across pages (PROTOCOL.md §4 "Query").
func TestServiceSDKQuery(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	c := serviceClient(t, h)
	ctx := ctxT(t)
	const n = 130 // more than one default page of 100
	for i := range n {
		id := fmt.Sprintf("q-%03d", i)
		if err := h.CreateDevice(id); err != nil {
			t.Fatal(err)
		}
		site := "boston"
		if i%10 == 0 {
			site = "lyon"
		}
		if _, err := c.UpdateDeviceTwin(ctx, &iotservice.Twin{DeviceID: id, Tags: map[string]any{"site": site, "n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	err := c.QueryDevices(ctx, "SELECT * FROM devices WHERE tags.site = 'boston' AND tags.n >= 5", func(v map[string]any) error {
		ids = append(ids, v["deviceId"].(string))
		return nil
	})
	if err != nil || len(ids) != 113 || ids[0] != "q-005" || ids[112] != "q-129" {
		t.Fatalf("QueryDevices = %d rows (%v...), %v", len(ids), ids[:min(3, len(ids))], err)
	}
	var groups []map[string]any
	err = c.QueryDevices(ctx, "SELECT tags.site AS site, COUNT() AS n FROM devices GROUP BY tags.site", func(v map[string]any) error {
		groups = append(groups, v)
		return nil
	})
	if err != nil || len(groups) != 2 || groups[0]["site"] != "lyon" || groups[0]["n"] != 13.0 || groups[1]["n"] != 117.0 {
		t.Fatalf("GROUP BY = %v, %v", groups, err)
	}
	if err := c.QueryDevices(ctx, "SELECT * FROM devices WHERE", func(map[string]any) error { return nil }); statusOf(err) != 400 ||
		!strings.Contains(err.Error(), "position 28") {
		t.Fatalf("bad query = %v, want 400 naming the position", err)
	}
}

// TestServiceSDKMethods: CallDeviceMethod reaches a device connected with
// the SDK and returns its answer; an offline device is 404 (PROTOCOL.md §4
// "Invoke method").
func TestServiceSDKMethods(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dev := hubtest.SDKFromX509(t, h, "m-1", hubtest.Device(t, h, "m-1"))
	ctx := ctxT(t)
	err := dev.RegisterMethod(ctx, "reboot", func(p map[string]any) (int, map[string]any, error) {
		return 202, map[string]any{"delay": p["delay"]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := serviceClient(t, h)
	res, err := c.CallDeviceMethod(ctx, "m-1", &iotservice.MethodCall{MethodName: "reboot", Payload: map[string]any{"delay": 5}})
	if err != nil || res.Status != 202 || res.Payload["delay"] != 5.0 {
		t.Fatalf("CallDeviceMethod = %+v, %v", res, err)
	}
	if err := h.CreateDevice("m-off"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallDeviceMethod(ctx, "m-off", &iotservice.MethodCall{MethodName: "reboot"}); statusOf(err) != 404 ||
		!strings.Contains(err.Error(), "DeviceNotOnline") {
		t.Fatalf("offline device = %v, want 404 DeviceNotOnline", err)
	}
}

// TestDeviceSDKFileUpload: the SDK's HTTP transport uploads a file (SAS
// URI from the hub, Put Blob on the hub's blob endpoint, notification),
// and the hub records it with the bytes on disk (PROTOCOL.md §3).
func TestDeviceSDKFileUpload(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	dev, ctx := httpDevice(t, h, "up-1")
	data := bytes.Repeat([]byte("case log line\n"), 1000)
	if err := dev.UploadFile(ctx, "logs/case-42.txt", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	notes := h.FileNotifications()
	if len(notes) != 1 || notes[0].DeviceID != "up-1" || notes[0].BlobName != "up-1/logs/case-42.txt" || notes[0].BlobSizeInBytes != int64(len(data)) {
		t.Fatalf("FileNotifications = %+v", notes)
	}
	got, err := h.ReadBlob("up-1/logs/case-42.txt")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob = %d bytes, %v", len(got), err)
	}
}

// httpDevice is a SAS device id on h with the iothub SDK's HTTP
// transport (file upload), connected until the test ends.
func httpDevice(t *testing.T, h *hubsim.Hub, id string) (*iotdevice.Client, context.Context) {
	t.Helper()
	hubtest.SASDevice(t, h, id)
	cs, err := h.DeviceConnectionString(id)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := iotdevice.NewFromConnectionString(iothttp.New(iothttp.WithClient(hubHTTP(t, h))), cs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := dev.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev, ctx
}

// TestSimAPI: /_sim/ shows a device's telemetry, sends it C2D, and lists
// file notifications; only iothubowner may use it.
func TestSimAPI(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{KeepEvents: true})
	dev := hubtest.SDKFromX509(t, h, "sim-1", hubtest.Device(t, h, "sim-1"))
	ctx := ctxT(t)
	c2d, err := dev.SubscribeEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.SendEvent(ctx, []byte(`{"t":21.5}`), iotdevice.WithSendMessageID("m-1"), iotdevice.WithSendProperty("site", "boston")); err != nil {
		t.Fatal(err)
	}
	var evs []struct {
		MessageID  string            `json:"messageId"`
		Body       string            `json:"body"`
		Properties map[string]string `json:"properties"`
	}
	hubtest.Eventually(t, 10*time.Second, func() bool {
		evs = nil
		simCall(t, h, "GET", "/_sim/devices/sim-1/events", "", &evs)
		return len(evs) == 1
	}, "no event recorded")
	if evs[0].MessageID != "m-1" || evs[0].Body != `{"t":21.5}` || evs[0].Properties["site"] != "boston" {
		t.Fatalf("events = %+v", evs)
	}
	if code := simCall(t, h, "POST", "/_sim/devices/sim-1/messages", `{"body":"hello","properties":{"k":"v"}}`, nil); code != 202 {
		t.Fatalf("send C2D = %d", code)
	}
	select {
	case m := <-c2d.C():
		if string(m.Payload) != "hello" || m.Properties["k"] != "v" {
			t.Fatalf("C2D = %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no C2D delivered")
	}
	var files []any
	if code := simCall(t, h, "GET", "/_sim/files", "", &files); code != 200 || len(files) != 0 {
		t.Fatalf("files = %d %v", code, files)
	}
}

// simCall calls the /_sim/ API as iothubowner and decodes a 2xx JSON body
// into out.
func simCall(t testing.TB, h *hubsim.Hub, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "https://"+h.HostName()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", ownerToken(t, h))
	res, err := hubHTTP(t, h).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
	}
	return res.StatusCode
}

func ownerToken(t testing.TB, h *hubsim.Hub) string {
	t.Helper()
	sak, err := iotservice.ParseConnectionString(h.ServiceConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sak.Token(h.HostName(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok.String()
}

// TestHTTPSLifecycle: the endpoint listens on Config.HTTPSAddr with the
// hub's certificate, and Close stops it and removes the hub's temporary
// blob directory.
func TestHTTPSLifecycle(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the hub makes its blob directory
	h, err := hubsim.New(hubsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	addr := h.HTTPSAddr()
	if code := simCall(t, h, "GET", "/_sim/files", "", nil); code != 200 {
		t.Fatalf("GET /_sim/files = %d", code)
	}
	if n := countPrefix(t, tmp, "hubsim-blobs-"); n != 1 {
		t.Fatalf("%d blob directories in TMPDIR while running, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Close", addr)
	}
	if n := countPrefix(t, tmp, "hubsim-blobs-"); n != 0 {
		t.Fatalf("Close left %d blob directories", n)
	}
}

func countPrefix(t testing.TB, dir, prefix string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if strings.HasPrefix(e.Name(), prefix) {
			n++
		}
	}
	return n
}
