package service

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

const testHost = "hub.example.net"

// testHub is a Handler served over real loopback TLS from a test CA, the
// way hubsim serves it, with the stores it drives.
type testHub struct {
	t        testing.TB
	url      string // https://127.0.0.1:port
	ca       *testpki.CA
	policies []sas.Policy
	reg      *registry.Registry
	twins    *twinstore.Store
	events   *eventlog.Log
	uploads  *blob.Uploads
	blobs    *blob.Server
	client   *http.Client

	mu       sync.Mutex
	notified []string // "id v body" per desired notification
}

// newTestHub serves a Handler (cfg's zero fields filled in) and the blob
// endpoint at /fileupload/ on 127.0.0.1:0 until the test ends.
func newTestHub(t testing.TB, cfg Config) *testHub {
	t.Helper()
	ca, err := testpki.NewCA("service test CA")
	if err != nil {
		t.Fatal(err)
	}
	th := &testHub{t: t, ca: ca, policies: sas.DefaultPolicies(), reg: registry.New(),
		twins: twinstore.New(nil), events: eventlog.New(true)}
	store, err := blob.NewStore(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	th.blobs = blob.NewServer(store, nil, nil)
	ln := th.listen()
	th.url = "https://" + ln.Addr().String()
	th.uploads = blob.NewUploads(th.blobs, blob.UploadsConfig{Host: ln.Addr().String()})
	cfg.HostName, cfg.Policies, cfg.Registry, cfg.Twins = testHost, th.policies, th.reg, th.twins
	cfg.Events, cfg.Roots, cfg.Files = th.events, ca.Pool(), th.uploads
	if cfg.NotifyDesired == nil {
		cfg.NotifyDesired = th.notify
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	mux := http.NewServeMux()
	mux.Handle("/fileupload/", th.blobs)
	mux.Handle("/", New(cfg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	th.client = th.clientWith(nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return th
}

func (th *testHub) listen() net.Listener {
	cert, err := th.ca.IssueServer("localhost", "127.0.0.1")
	if err != nil {
		th.t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		th.t.Fatal(err)
	}
	return tls.NewListener(raw, &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12,
	})
}

// clientWith is an HTTPS client trusting the CA, presenting cert if set.
func (th *testHub) clientWith(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: th.ca.Pool(), ServerName: "localhost"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	th.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func (th *testHub) notify(id string, v int, body []byte) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.notified = append(th.notified, id+" "+strconv.Itoa(v)+" "+string(body))
}

func (th *testHub) notifications() []string {
	th.mu.Lock()
	defer th.mu.Unlock()
	return append([]string(nil), th.notified...)
}

// token is a service SAS token for policy name.
func (th *testHub) token(policy string) string {
	th.t.Helper()
	for _, p := range th.policies {
		if p.Name == policy {
			tok, err := sas.Sign(testHost, p.PrimaryKey, p.Name, time.Now().Add(time.Hour))
			if err != nil {
				th.t.Fatal(err)
			}
			return tok
		}
	}
	th.t.Fatalf("no policy %q", policy)
	return ""
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorName is the iothub-errorcode header.
func (r response) errorName() string { return r.header.Get("iothub-errorcode") }

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends method path (with api-version 2021-04-12 unless path has a
// query) and body (JSON-encoded unless []byte or string), authorized with
// auth ("" = none), plus extra header pairs.
func (th *testHub) do(client *http.Client, method, path, auth string, body any, hdr ...string) response {
	th.t.Helper()
	if !strings.Contains(path, "?") && !strings.HasPrefix(path, "/_sim/") {
		path += "?api-version=2021-04-12"
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			th.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, th.url+path, rd)
	if err != nil {
		th.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		th.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		th.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, raw}
}

// owner calls as iothubowner.
func (th *testHub) owner(method, path string, body any, hdr ...string) response {
	th.t.Helper()
	return th.do(th.client, method, path, th.token(sas.PolicyOwner), body, hdr...)
}

// expectError checks an IoT Hub error response (PROTOCOL.md §4 "Error
// format").
func expectError(t testing.TB, what string, r response, status int, name string) {
	t.Helper()
	if r.status != status || r.errorName() != name {
		t.Fatalf("%s = %d %q (%s), want %d %s", what, r.status, r.errorName(), r.body, status, name)
	}
	var body struct{ Message, ExceptionMessage string }
	r.decode(t, &body)
	if !strings.HasPrefix(body.Message, "ErrorCode:"+name+";") || !strings.HasPrefix(body.ExceptionMessage, "Tracking ID:") {
		t.Fatalf("%s error body = %s", what, r.body)
	}
}

// etag is the "etag" member of a JSON body.
func (r response) etag(t testing.TB) string {
	t.Helper()
	var v struct {
		ETag string `json:"etag"`
	}
	r.decode(t, &v)
	return v.ETag
}
