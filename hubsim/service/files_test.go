package service

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// TestFileUploadWithClientCertificate: a CA-signed device authenticates
// by its TLS client certificate, gets a SAS URI on the hub's own host,
// uploads with Put Blob, notifies, and the hub records the notification
// (PROTOCOL.md §3).
func TestFileUploadWithClientCertificate(t *testing.T) {
	th := newTestHub(t, Config{})
	if err := th.reg.Create(registry.Device{ID: "cam-1", Auth: registry.AuthCertificateAuthority}); err != nil {
		t.Fatal(err)
	}
	cert, err := th.ca.IssueDeviceTLS("cam-1")
	if err != nil {
		t.Fatal(err)
	}
	dev := th.clientWith(&cert)
	r := th.do(dev, "POST", "/devices/cam-1/files?api-version=2020-03-13", "", `{"blobName":"logs/today.txt"}`)
	var up blob.Upload
	r.decode(t, &up)
	if r.status != 200 || up.BlobName != "cam-1/logs/today.txt" || up.ContainerName != "fileupload" ||
		"https://"+up.HostName != th.url || !strings.HasPrefix(up.SASToken, "?sv=") || up.CorrelationID == "" {
		t.Fatalf("start upload = %d %s", r.status, r.body)
	}
	blobURL := "https://" + up.HostName + "/" + up.ContainerName + "/" + url.PathEscape(up.BlobName) + up.SASToken
	put := request(t, dev, "PUT", blobURL, "hello log", "x-ms-blob-type", "BlockBlob", "x-ms-version", "2020-04-08")
	if put.StatusCode != 201 || put.Header.Get("ETag") == "" || put.Header.Get("x-ms-version") != "2020-04-08" {
		t.Fatalf("Put Blob = %d %v", put.StatusCode, put.Header)
	}
	get := request(t, dev, "GET", blobURL, "")
	if body := readAll(t, get); get.StatusCode != 200 || body != "hello log" || get.Header.Get("x-ms-blob-type") != "BlockBlob" {
		t.Fatalf("Get Blob = %d %q", get.StatusCode, body)
	}
	r = th.do(dev, "POST", "/devices/cam-1/files/notifications/"+url.PathEscape(up.CorrelationID)+"?api-version=2020-03-13", "",
		`{"isSuccess":true,"statusCode":200,"statusDescription":"ok"}`)
	if r.status != 204 {
		t.Fatalf("notify = %d %s", r.status, r.body)
	}
	var notes []blob.Notification
	th.owner("GET", "/_sim/files", nil).decode(t, &notes)
	if len(notes) != 1 || notes[0].DeviceID != "cam-1" || notes[0].BlobName != "cam-1/logs/today.txt" || notes[0].BlobSizeInBytes != 9 {
		t.Fatalf("notifications = %+v", notes)
	}
	expectError(t, "notify twice", th.do(dev, "POST", "/devices/cam-1/files/notifications", "",
		`{"correlationId":"`+up.CorrelationID+`","isSuccess":true}`), 400, "InvalidFileUploadCorrelationId")
}

// TestFileUploadAuth: device SAS (documented sr forms and amenzhinsky's
// `{host}/{id}`), policy tokens with DeviceConnect, and refusals.
func TestFileUploadAuth(t *testing.T) {
	th := newTestHub(t, Config{})
	if err := th.reg.Create(registry.Device{ID: "s1", Auth: registry.AuthSAS}); err != nil {
		t.Fatal(err)
	}
	if err := th.reg.Create(registry.Device{ID: "ca1"}); err != nil {
		t.Fatal(err)
	}
	d, _ := th.reg.Get("s1")
	key := d.SymmetricKey.SecondaryKey
	sign := func(res, k, skn string) string {
		tok, err := sas.Sign(res, k, skn, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	foreign, _ := th.ca.IssueDeviceTLS("someone-else")
	wrongCA := th.clientWith(nil)
	tests := []struct {
		name, id, auth string
		client         *http.Client
		status         int
	}{
		{"device sas", "s1", sign(testHost+"/devices/s1", key, ""), th.client, 200},
		{"amenzhinsky sr", "s1", sign(testHost+"/s1", key, ""), th.client, 200},
		{"hub sr", "s1", sign(testHost, key, ""), th.client, 200},
		{"device policy", "ca1", sign(testHost, th.policies[2].PrimaryKey, sas.PolicyDevice), th.client, 200},
		{"service policy", "ca1", sign(testHost, th.policies[1].PrimaryKey, sas.PolicyService), th.client, 401},
		{"other device's sr", "s1", sign(testHost+"/devices/s2", key, ""), th.client, 401},
		{"wrong key", "s1", sign(testHost+"/devices/s1", sas.NewKey(), ""), th.client, 401},
		{"sas for CA device", "ca1", sign(testHost+"/devices/ca1", key, ""), th.client, 401},
		{"nothing", "ca1", "", th.client, 401},
		{"cert with other CN", "ca1", "", th.clientWith(&foreign), 401},
		{"no cert", "ca1", "", wrongCA, 401},
	}
	for _, tc := range tests {
		r := th.do(tc.client, "POST", "/devices/"+tc.id+"/files", tc.auth, `{"blobName":"f.bin"}`)
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	if err := th.reg.SetStatus("s1", registry.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	expectError(t, "disabled", th.do(th.client, "POST", "/devices/s1/files", sign(testHost+"/devices/s1", key, ""), `{"blobName":"f"}`),
		401, "IotHubUnauthorizedAccess")
}

// TestFileUploadLimit: at most 10 open uploads per device (403006); a
// notification frees a slot; other devices are unaffected.
func TestFileUploadLimit(t *testing.T) {
	th := newTestHub(t, Config{})
	for _, id := range []string{"a", "b"} {
		if err := th.reg.Create(registry.Device{ID: id, Auth: registry.AuthSAS}); err != nil {
			t.Fatal(err)
		}
	}
	auth := func(id string) string {
		tok, _ := sas.Sign(testHost, th.policies[0].PrimaryKey, sas.PolicyOwner, time.Now().Add(time.Hour))
		return tok
	}
	var first blob.Upload
	for i := range 10 {
		r := th.do(th.client, "POST", "/devices/a/files", auth("a"), `{"blobName":"f"}`)
		if r.status != 200 {
			t.Fatalf("upload %d = %d %s", i, r.status, r.body)
		}
		if i == 0 {
			r.decode(t, &first)
		}
	}
	expectError(t, "11th upload", th.do(th.client, "POST", "/devices/a/files", auth("a"), `{"blobName":"f"}`),
		403, "DeviceMaximumActiveFileUploadLimitExceeded")
	if r := th.do(th.client, "POST", "/devices/b/files", auth("b"), `{"blobName":"f"}`); r.status != 200 {
		t.Fatalf("other device = %d", r.status)
	}
	th.do(th.client, "POST", "/devices/a/files/notifications", auth("a"), `{"correlationId":"`+first.CorrelationID+`","isSuccess":false}`)
	if r := th.do(th.client, "POST", "/devices/a/files", auth("a"), `{"blobName":"f"}`); r.status != 200 {
		t.Fatalf("after a notification = %d %s", r.status, r.body)
	}
	if n := th.uploads.Notifications(); len(n) != 0 {
		t.Errorf("a failed upload was recorded: %+v", n)
	}
	expectError(t, "bad name", th.do(th.client, "POST", "/devices/b/files", auth("b"), `{"blobName":""}`), 400, "ArgumentInvalid")
}

func request(t testing.TB, c *http.Client, method, u, body string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readAll(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
