package blob

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// blobServer is a Server on real loopback TLS from a test CA.
type blobServer struct {
	t      testing.TB
	srv    *Server
	dir    string // the store's directory
	base   string // https://127.0.0.1:port
	client *http.Client
}

func newBlobServer(t testing.TB, cfg StoreConfig) *blobServer {
	t.Helper()
	ca, err := testpki.NewCA("blob test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := OpenStore(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	b := &blobServer{t: t, srv: NewServer(store, nil, nil), dir: dir, base: "https://" + ln.Addr().String()}
	hs := &http.Server{Handler: b.srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}}
	b.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return b
}

// url is the blob's URL with a SAS of perms valid for an hour, plus extra
// query.
func (b *blobServer) url(name, perms, extra string) string {
	u := b.base + "/fileupload/" + url.PathEscape(name) + "?" + b.srv.SAS("fileupload", name, perms, time.Now().Add(time.Hour))
	if extra != "" {
		u += "&" + extra
	}
	return u
}

func (b *blobServer) do(method, u, body string, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return res, string(raw)
}

// TestPutGetBlob: Put Blob then Get Blob, Get Blob Properties and a range
// read, with Azure's headers.
func TestPutGetBlob(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	u := b.url("d1/a.txt", "rcw", "")
	res, _ := b.do("PUT", u, "hello world", "x-ms-blob-type", "BlockBlob", "Content-Type", "text/plain")
	if res.StatusCode != 201 || res.Header.Get("Content-MD5") != "XrY7u+Ae7tCTyyK7j1rNww==" || res.Header.Get("ETag") == "" {
		t.Fatalf("Put Blob = %d %v", res.StatusCode, res.Header)
	}
	res, body := b.do("GET", u, "")
	if res.StatusCode != 200 || body != "hello world" || res.Header.Get("Content-Type") != "text/plain" ||
		res.Header.Get("x-ms-blob-type") != "BlockBlob" || res.Header.Get("x-ms-version") != SASVersion {
		t.Fatalf("Get Blob = %d %q %v", res.StatusCode, body, res.Header)
	}
	res, body = b.do("HEAD", u, "")
	if res.StatusCode != 200 || body != "" || res.ContentLength != 11 || res.Header.Get("x-ms-creation-time") == "" {
		t.Fatalf("Get Blob Properties = %d %v", res.StatusCode, res.Header)
	}
	res, body = b.do("GET", u, "", "x-ms-range", "bytes=6-10")
	if res.StatusCode != 206 || body != "world" {
		t.Fatalf("range = %d %q", res.StatusCode, body)
	}
	res, body = b.do("PUT", b.url("d1/b", "rcw", ""), "x")
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "MissingRequiredHeader" || !strings.Contains(body, "<Code>MissingRequiredHeader</Code>") {
		t.Fatalf("no blob type = %d %s", res.StatusCode, body)
	}
	res, _ = b.do("PUT", b.url("d1/b", "rcw", ""), "x", "x-ms-blob-type", "AppendBlob")
	if res.StatusCode != 400 {
		t.Fatalf("append blob = %d", res.StatusCode)
	}
	res, body = b.do("GET", b.url("d1/missing", "r", ""), "")
	if res.StatusCode != 404 || !strings.Contains(body, "<Code>BlobNotFound</Code>") || !strings.Contains(body, "RequestId:") {
		t.Fatalf("missing = %d %s", res.StatusCode, body)
	}
}

// TestSASChecked: the signature covers the blob, the permissions and the
// expiry; anything else is 403.
func TestSASChecked(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	good := b.url("d1/x", "rcw", "")
	if res, _ := b.do("PUT", good, "data", "x-ms-blob-type", "BlockBlob"); res.StatusCode != 201 {
		t.Fatalf("good SAS = %d", res.StatusCode)
	}
	expired := b.base + "/fileupload/d1/x?" + b.srv.SAS("fileupload", "d1/x", "r", time.Now().Add(-time.Minute))
	tests := []struct {
		name, method, url, code string
	}{
		{"no SAS", "GET", b.base + "/fileupload/d1/x", "AuthenticationFailed"},
		{"other blob", "GET", strings.Replace(good, "/d1%2Fx?", "/d1%2Fy?", 1), "AuthenticationFailed"},
		{"widened permission", "PUT", strings.Replace(b.url("d1/x", "r", ""), "sp=r", "sp=rw", 1), "AuthenticationFailed"},
		{"extended expiry", "GET", strings.Replace(expired, "se=", "se=2099", 1), "AuthenticationFailed"},
		{"expired", "GET", expired, "AuthenticationFailed"},
		{"read-only SAS writes", "PUT", b.url("d1/x", "r", ""), "AuthorizationPermissionMismatch"},
		{"write-only SAS reads", "GET", b.url("d1/x", "cw", ""), "AuthorizationPermissionMismatch"},
	}
	for _, tc := range tests {
		res, body := b.do(tc.method, tc.url, "data", "x-ms-blob-type", "BlockBlob")
		if res.StatusCode != 403 || res.Header.Get("x-ms-error-code") != tc.code {
			t.Errorf("%s: %d %s, want 403 %s", tc.name, res.StatusCode, body, tc.code)
		}
	}
}

// TestBlocksOverHTTP: Put Block, Get Block List (committed vs uncommitted),
// Put Block List, and the result.
func TestBlocksOverHTTP(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	for id, data := range map[string]string{"AAAA": "one-", "AAAB": "two-", "AAAC": "three"} {
		if res, body := b.do("PUT", b.url("d/big.log", "rcw", "comp=block&blockid="+url.QueryEscape(id)), data); res.StatusCode != 201 {
			t.Fatalf("Put Block %s = %d %s", id, res.StatusCode, body)
		}
	}
	_, list := b.do("GET", b.url("d/big.log", "r", "comp=blocklist&blocklisttype=all"), "")
	if !strings.Contains(list, "<CommittedBlocks></CommittedBlocks>") ||
		!strings.Contains(list, "<UncommittedBlocks><Block><Name>AAAA</Name><Size>4</Size></Block>") {
		t.Fatalf("uncommitted list = %s", list)
	}
	commit := `<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>AAAA</Latest><Uncommitted>AAAC</Uncommitted></BlockList>`
	res, body := b.do("PUT", b.url("d/big.log", "rcw", "comp=blocklist"), commit, "x-ms-blob-content-type", "text/plain")
	if res.StatusCode != 201 {
		t.Fatalf("Put Block List = %d %s", res.StatusCode, body)
	}
	if _, got := b.do("GET", b.url("d/big.log", "r", ""), ""); got != "one-three" {
		t.Fatalf("committed content = %q", got)
	}
	res, list = b.do("GET", b.url("d/big.log", "r", "comp=blocklist&blocklisttype=all"), "")
	if res.Header.Get("x-ms-blob-content-length") != "9" || !strings.Contains(list, "<UncommittedBlocks></UncommittedBlocks>") ||
		!strings.Contains(list, "<Name>AAAA</Name><Size>4</Size></Block><Block><Name>AAAC</Name><Size>5</Size>") {
		t.Fatalf("after commit (AAAB discarded) = %s", list)
	}
	res, body = b.do("PUT", b.url("d/big.log", "rcw", "comp=blocklist"), `<BlockList><Uncommitted>AAAB</Uncommitted></BlockList>`)
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "InvalidBlockList" {
		t.Fatalf("discarded block = %d %s", res.StatusCode, body)
	}
	res, body = b.do("PUT", b.url("d/big.log", "rcw", "comp=blocklist"), `<BlockList><Latest>AAA`)
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "InvalidXmlDocument" {
		t.Fatalf("bad XML = %d %s", res.StatusCode, body)
	}
}

// TestTooLarge: a blob or block over the store's limit is 413
// RequestBodyTooLarge, refused on its Content-Length before the body is
// read, or while it is read when the length is not given.
func TestTooLarge(t *testing.T) {
	b := newBlobServer(t, StoreConfig{MaxBlobBytes: 8})
	res, _ := b.do("PUT", b.url("d/x", "rcw", ""), "123456789", "x-ms-blob-type", "BlockBlob")
	if res.StatusCode != 413 || res.Header.Get("x-ms-error-code") != "RequestBodyTooLarge" {
		t.Fatalf("Put Blob over limit = %d", res.StatusCode)
	}
	res, _ = b.do("PUT", b.url("d/x", "rcw", "comp=block&blockid=AAAA"), "123456789")
	if res.StatusCode != 413 {
		t.Fatalf("Put Block over limit = %d", res.StatusCode)
	}
	req, err := http.NewRequest("PUT", b.url("d/x", "rcw", "comp=block&blockid=AAAA"), io.MultiReader(strings.NewReader("12345"), strings.NewReader("6789")))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked: the limit is found while reading
	res, err = b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("chunked Put Block over limit = %d", res.StatusCode)
	}
}

// TestConfigurableLimits: StoreConfig bounds a committed blob, one Put
// Block body and one Put Blob body separately, defaulting to hubsim's
// 256 MiB blob and Azure's 4000 MiB block and 5000 MiB Put Blob. A body
// over its limit is 413 RequestBodyTooLarge; a Put Block List whose blob
// would pass MaxBlobBytes is 400 InvalidBlobOrBlock and its blocks stay
// staged.
func TestConfigurableLimits(t *testing.T) {
	s, err := OpenStore(t.TempDir(), StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Config(); got.MaxBlobBytes != 256<<20 || got.MaxBlockBytes != 4000<<20 || got.MaxPutBlobBytes != 5000<<20 {
		t.Fatalf("default limits = %+v", got)
	}
	tests := []struct {
		name          string
		cfg           StoreConfig
		blob, block   int // body sizes tried
		blobOK, blkOK bool
	}{
		{"blob cap bounds both", StoreConfig{MaxBlobBytes: 8}, 9, 9, false, false},
		{"block cap", StoreConfig{MaxBlockBytes: 4}, 9, 5, true, false},
		{"put blob cap", StoreConfig{MaxPutBlobBytes: 4}, 5, 9, false, true},
		{"at the caps", StoreConfig{MaxBlobBytes: 6, MaxBlockBytes: 5, MaxPutBlobBytes: 6}, 6, 5, true, true},
	}
	for _, tc := range tests {
		b := newBlobServer(t, tc.cfg)
		res, _ := b.do("PUT", b.url("d/x", "rcw", ""), strings.Repeat("b", tc.blob), "x-ms-blob-type", "BlockBlob")
		if ok := res.StatusCode == 201; ok != tc.blobOK || !ok && res.Header.Get("x-ms-error-code") != "RequestBodyTooLarge" {
			t.Errorf("%s: Put Blob of %d = %d %s", tc.name, tc.blob, res.StatusCode, res.Header.Get("x-ms-error-code"))
		}
		res, _ = b.do("PUT", b.url("d/y", "rcw", "comp=block&blockid=AAAA"), strings.Repeat("k", tc.block))
		if ok := res.StatusCode == 201; ok != tc.blkOK || !ok && res.Header.Get("x-ms-error-code") != "RequestBodyTooLarge" {
			t.Errorf("%s: Put Block of %d = %d %s", tc.name, tc.block, res.StatusCode, res.Header.Get("x-ms-error-code"))
		}
	}
	b := newBlobServer(t, StoreConfig{MaxBlobBytes: 8})
	for _, id := range []string{"AAAA", "AAAB"} {
		if res, _ := b.do("PUT", b.url("d/z", "rcw", "comp=block&blockid="+id), "12345"); res.StatusCode != 201 {
			t.Fatalf("Put Block %s = %d", id, res.StatusCode)
		}
	}
	res, body := b.do("PUT", b.url("d/z", "rcw", "comp=blocklist"), `<BlockList><Latest>AAAA</Latest><Latest>AAAB</Latest></BlockList>`)
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "InvalidBlobOrBlock" {
		t.Fatalf("commit of 10 bytes over an 8-byte cap = %d %s", res.StatusCode, body)
	}
	if res, body := b.do("PUT", b.url("d/z", "rcw", "comp=blocklist"), `<BlockList><Latest>AAAA</Latest></BlockList>`); res.StatusCode != 201 {
		t.Fatalf("the blocks were lost by the refused commit: %d %s", res.StatusCode, body)
	}
}
