package hubsim_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// publishURLs asks the hub where to publish update file name.
func publishURLs(t testing.TB, h *hubsim.Hub, name string) (upload, download string) {
	t.Helper()
	var got struct{ UploadURL, DownloadURL string }
	if code := simCall(t, h, "POST", "/_sim/updates/"+name, "", &got); code != 200 || got.UploadURL == "" || got.DownloadURL == "" {
		t.Fatalf("POST /_sim/updates/%s = %d %+v", name, code, got)
	}
	return got.UploadURL, got.DownloadURL
}

// putBlocks uploads data to a blob SAS URL as Azure's SDKs do: Put Block
// per blockSize bytes with Content-MD5, then Put Block List.
func putBlocks(t testing.TB, c *http.Client, blobURL string, data []byte, blockSize int) {
	t.Helper()
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for i := 0; i*blockSize < len(data); i++ {
		block := data[i*blockSize : min((i+1)*blockSize, len(data))]
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "block-%06d", i))
		sum := md5.Sum(block)
		res := blobDo(t, c, "PUT", blobURL+"&comp=block&blockid="+url.QueryEscape(id), block,
			"Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		if res.StatusCode != 201 {
			t.Fatalf("Put Block %d = %s", i, res.Status)
		}
		list.WriteString("<Latest>" + id + "</Latest>")
	}
	list.WriteString("</BlockList>")
	if res := blobDo(t, c, "PUT", blobURL+"&comp=blocklist", []byte(list.String())); res.StatusCode != 201 {
		t.Fatalf("Put Block List = %s", res.Status)
	}
}

// blobDo sends one blob request (body nil for none, then header pairs)
// and returns the response with its body read into a NopCloser.
func blobDo(t testing.TB, c *http.Client, method, u string, body []byte, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-version", "2021-08-06")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))
	return res
}

func bodyOf(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestPublishedUpdateFiles: a file uploaded in blocks with the upload URL
// of POST /_sim/updates/{name} is served by the download URL on the hub's
// HTTPS endpoint under its host name, with Range requests; the download
// URL may not write, and it expires after UpdateURLLifetime on the hub's
// clock (the upload URL after an hour).
func TestPublishedUpdateFiles(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	h := hubtest.NewHub(t, hubsim.Config{Now: now, UpdateURLLifetime: 3 * time.Hour})
	c := hubHTTP(t, h)
	data := bytes.Repeat([]byte("carto software 7.3.0\n"), 10_000) // 210,000 bytes: 4 blocks
	const name = "Cloud-Pillar/carto3-v7/7.3.0/carto-7.3.0.img"
	up, down := publishURLs(t, h, name)
	_, port, _ := net.SplitHostPort(h.HTTPSAddr())
	prefix := "https://" + h.HostName() + ":" + port + "/updates/" + name + "?"
	if !strings.HasPrefix(up, prefix) || !strings.HasPrefix(down, prefix) || !strings.HasSuffix(up, "&sp=rcw") || !strings.HasSuffix(down, "&sp=r") {
		t.Fatalf("URLs %s, %s; want %s... with sp=rcw and sp=r", up, down, prefix)
	}
	putBlocks(t, c, up, data, 64<<10)

	res := blobDo(t, c, "GET", down, nil, "Range", "bytes=-100")
	if got := bodyOf(res); res.StatusCode != 206 || got != string(data[len(data)-100:]) ||
		res.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", len(data)-100, len(data)-1, len(data)) {
		t.Fatalf("Range GET = %s %q %q", res.Status, res.Header.Get("Content-Range"), got)
	}
	if res := blobDo(t, c, "GET", down, nil); res.StatusCode != 200 || bodyOf(res) != string(data) {
		t.Fatalf("GET = %s, want the whole file", res.Status)
	}
	for _, w := range []struct{ what, u string }{{"Put Blob", down}, {"Put Block", down + "&comp=block&blockid=" + url.QueryEscape("YmxvY2s=")}} {
		res := blobDo(t, c, "PUT", w.u, []byte("evil"), "x-ms-blob-type", "BlockBlob")
		if res.StatusCode != 403 || res.Header.Get("x-ms-error-code") != "AuthorizationPermissionMismatch" {
			t.Fatalf("%s with the download URL = %s %s, want 403 AuthorizationPermissionMismatch", w.what, res.Status, res.Header.Get("x-ms-error-code"))
		}
	}

	skew.Store(int64(time.Hour + time.Minute))
	if res := blobDo(t, c, "PUT", up, []byte("late"), "x-ms-blob-type", "BlockBlob"); res.StatusCode != 403 {
		t.Fatalf("Put Blob with the upload URL after an hour = %s, want 403", res.Status)
	}
	if res := blobDo(t, c, "GET", down, nil); res.StatusCode != 200 || bodyOf(res) != string(data) {
		t.Fatalf("GET within UpdateURLLifetime = %s, want the file", res.Status)
	}
	skew.Store(int64(3*time.Hour + time.Minute))
	if res := blobDo(t, c, "GET", down, nil); res.StatusCode != 403 || res.Header.Get("x-ms-error-code") != "AuthenticationFailed" {
		t.Fatalf("GET after UpdateURLLifetime = %s %s, want 403 AuthenticationFailed", res.Status, res.Header.Get("x-ms-error-code"))
	}
}

// TestPublishedUpdatesSurviveANewHub: published files are kept under
// StateDir/blobs with the key their URLs are signed with, so a new hub on
// the same directory serves them at the download URL handed out before
// the restart (deployed devices still hold it) and at a new one.
func TestPublishedUpdatesSurviveANewHub(t *testing.T) {
	dir := t.TempDir()
	ca, err := testpki.NewCA("hubsim updates test CA")
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{0, 1, 2, 3, 0xfe, 0xff}, 5000)
	const name = "p/n/1.0/rootfs.img"
	h1, close1 := startStateHub(t, dir, ca)
	up, oldDown := publishURLs(t, h1, name)
	putBlocks(t, hubHTTP(t, h1), up, data, 8<<10)
	close1()

	h2, _ := startStateHub(t, dir, ca)
	_, down := publishURLs(t, h2, name)
	for _, u := range []string{oldDown, down} { // hubHTTP dials h2 whatever port the URL names
		if res := blobDo(t, hubHTTP(t, h2), "GET", u, nil); res.StatusCode != 200 || bodyOf(res) != string(data) {
			t.Fatalf("GET %s on the new hub = %s, want the published file", u, res.Status)
		}
	}
}
