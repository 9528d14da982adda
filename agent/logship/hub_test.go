package logship

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// testHub is IoT Hub's device file-upload API and a blob endpoint on real
// loopback TLS, built from hubsim's own blob package (the store, the Blob
// REST server and the upload sessions hubsim serves), with hook fields a
// test uses to fail, truncate or hold requests. The real hubsim.Hub is
// exercised in hubsim_test.go; this one exists for the faults hubsim has
// no hooks for.
type testHub struct {
	t    testing.TB
	ca   *testpki.CA
	addr string // 127.0.0.1:port
	host string // localhost:port, the blob host in upload answers

	offset atomic.Int64 // added to the wall clock: a test moves the hub's time (SAS expiry)

	mu      sync.Mutex
	store   *blob.Store
	blobs   *blob.Server
	uploads *blob.Uploads
	fault   func(op string, w http.ResponseWriter, r *http.Request) bool // true: answered by the fault
	counts  map[string]int                                               // requests per op

	received atomic.Int64 // block body bytes received
}

// Ops a fault hook sees.
const (
	hookStart  = "start"
	hookNotify = "notify"
	hookBlock  = "block"
	hookCommit = "blocklist"
	hookOther  = "other"
)

func newTestHub(t testing.TB) *testHub {
	t.Helper()
	ca, err := testpki.NewCA("logship test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(raw.Addr().String())
	h := &testHub{t: t, ca: ca, addr: raw.Addr().String(), host: "localhost:" + port,
		counts: map[string]int{}}
	h.reset()
	ln := tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogDiscard()}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return h
}

// reset replaces the hub's state as a hub restart without persistence
// does: a new store (staged blocks lost), a new SAS key, no sessions.
func (h *testHub) reset() {
	store, err := blob.NewStore(h.t.TempDir(), 2<<30)
	if err != nil {
		h.t.Fatal(err)
	}
	srv := blob.NewServer(store, h.now, nil)
	up := blob.NewUploads(srv, blob.UploadsConfig{Host: h.host})
	h.mu.Lock()
	h.store, h.blobs, h.uploads = store, srv, up
	h.mu.Unlock()
}

func (h *testHub) now() time.Time { return time.Now().Add(time.Duration(h.offset.Load())) }

// config is a Shipper configuration for device id against this hub.
func (h *testHub) config(t testing.TB, id string, sources ...Source) Config {
	t.Helper()
	cert, err := h.ca.IssueDeviceTLS(id)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		DeviceID: id, HostName: "localhost", Address: h.addr, RootCAs: h.ca.Pool(), Certificate: cert,
		Sources: sources, BlockSize: 64 << 10, RequestTimeout: 5 * time.Second,
		ThrottleFloor: 20 * time.Millisecond, AuthFloor: 20 * time.Millisecond,
		Backoff: backoffFast, Logger: testLogger(t),
	}
}

func (h *testHub) setFault(f func(op string, w http.ResponseWriter, r *http.Request) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fault = f
}

func (h *testHub) count(op string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[op]
}

func (h *testHub) state() (*blob.Store, *blob.Server, *blob.Uploads) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.store, h.blobs, h.uploads
}

func op(r *http.Request) string {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/files"):
		return hookStart
	case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/files/notifications"):
		return hookNotify
	case r.Method == http.MethodPut && r.URL.Query().Get("comp") == "block":
		return hookBlock
	case r.Method == http.MethodPut && r.URL.Query().Get("comp") == "blocklist":
		return hookCommit
	}
	return hookOther
}

func (h *testHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := op(r)
	h.mu.Lock()
	h.counts[o]++
	fault := h.fault
	h.mu.Unlock()
	if fault != nil && fault(o, w, r) {
		return
	}
	h.serve(o, w, r)
}

// serve is the hub without faults.
func (h *testHub) serve(o string, w http.ResponseWriter, r *http.Request) {
	_, blobs, uploads := h.state()
	switch o {
	case hookStart, hookNotify:
		h.files(o, w, r, uploads)
	case hookBlock:
		r.Body = countingBody{r.Body, &h.received}
		blobs.ServeHTTP(w, r)
	default:
		blobs.ServeHTTP(w, r)
	}
}

// files serves POST /devices/{id}/files and its notifications, admitting
// the device by its client certificate (CA-signed, CN = device id).
func (h *testHub) files(o string, w http.ResponseWriter, r *http.Request, uploads *blob.Uploads) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "devices" || !h.authorized(r, parts[1]) {
		hubError(w, 401, "IotHubUnauthorizedAccess", "Unauthorized")
		return
	}
	id := parts[1]
	if o == hookStart {
		var body struct{ BlobName string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			hubError(w, 400, "ArgumentInvalid", "bad body")
			return
		}
		up, err := uploads.Start(id, body.BlobName, h.now())
		if errors.Is(err, blob.ErrTooManyUploads) {
			hubError(w, 403, "DeviceMaximumActiveFileUploadLimitExceeded", "Number of active file upload requests cannot exceed 10")
			return
		}
		if err != nil {
			hubError(w, 400, "ArgumentInvalid", err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(up)
		return
	}
	var body struct {
		CorrelationID string `json:"correlationId"`
		blob.Completion
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		hubError(w, 400, "ArgumentInvalid", "bad body")
		return
	}
	if err := uploads.Complete(id, body.CorrelationID, body.Completion, h.now()); err != nil {
		hubError(w, 400, "InvalidFileUploadCorrelationId", "Cannot find a file upload with this correlation id for the device")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *testHub) authorized(r *http.Request, id string) bool {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return false
	}
	leaf := r.TLS.PeerCertificates[0]
	_, err := leaf.Verify(x509.VerifyOptions{Roots: h.ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err == nil && leaf.Subject.CommonName == id
}

func hubError(w http.ResponseWriter, status int, name, text string) {
	w.Header().Set("iothub-errorcode", name)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Message": "ErrorCode:" + name + ";" + text, "ExceptionMessage": "Tracking ID:test"})
}

// notifications returns the successful uploads the hub recorded.
func (h *testHub) notifications() []blob.Notification {
	_, _, up := h.state()
	return up.Notifications()
}

// blob returns the committed blob the device uploaded as name.
func (h *testHub) blob(t testing.TB, deviceID, name string) []byte {
	t.Helper()
	store, _, _ := h.state()
	f, _, err := store.Open(blob.DefaultContainer, deviceID+"/"+name)
	if err != nil {
		t.Fatalf("blob %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// props returns the committed blob's properties as the blob store keeps
// them: its metadata (x-ms-meta-*, names in lower case) and Content-MD5.
func (h *testHub) props(t testing.TB, deviceID, name string) blob.Props {
	t.Helper()
	store, _, _ := h.state()
	p, err := store.Props(blob.DefaultContainer, deviceID+"/"+name)
	if err != nil {
		t.Fatalf("blob %s: %v", name, err)
	}
	return p
}

// truncate answers with a success status whose body breaks off, after
// the real handler ran (the request took effect; the client cannot know).
func (h *testHub) truncate(o string, w http.ResponseWriter, r *http.Request) {
	rec := &discardRecorder{header: http.Header{}}
	h.serve(o, rec, r)
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if rec.status == http.StatusNoContent {
		fmt.Fprintf(buf, "HTTP/1.1 204 No Cont") // no body to cut: cut the status line
	} else {
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Length: 100\r\n\r\n{\"corr", rec.status, http.StatusText(rec.status))
	}
	buf.Flush()
	conn.Close()
}

// drop closes the connection without an answer and without running the
// handler (the request was lost on the way).
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
		}
	}
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type discardRecorder struct {
	header http.Header
	status int
}

func (d *discardRecorder) Header() http.Header { return d.header }
func (d *discardRecorder) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	return len(p), nil
}
func (d *discardRecorder) WriteHeader(code int) { d.status = code }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
