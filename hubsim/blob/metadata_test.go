package blob

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestParseMetadata: names are C# identifiers, compared and stored in
// lower case; a name given twice, an empty name and more than 8 KiB of
// names and values are refused with Azure's codes (Blob REST "Setting and
// retrieving properties and metadata for Blob service resources").
func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name string
		hdr  http.Header
		want map[string]string
		code string // "" = accepted
	}{
		{"none", http.Header{"Content-Type": {"text/plain"}}, nil, ""},
		{"lower-cased", http.Header{"X-Ms-Meta-Sha256": {"ab"}, "x-ms-meta-Source": {"device"}},
			map[string]string{"sha256": "ab", "source": "device"}, ""},
		{"identifier characters", http.Header{"X-Ms-Meta-_a1_B": {""}}, map[string]string{"_a1_b": ""}, ""},
		{"exactly 8 KiB", http.Header{"X-Ms-Meta-A": {strings.Repeat("v", 8<<10-1)}}, map[string]string{"a": strings.Repeat("v", 8<<10-1)}, ""},
		{"hyphen", http.Header{"X-Ms-Meta-My-Name": {"v"}}, nil, "InvalidMetadata"},
		{"dot", http.Header{"X-Ms-Meta-A.b": {"v"}}, nil, "InvalidMetadata"},
		{"leading digit", http.Header{"X-Ms-Meta-1abc": {"v"}}, nil, "InvalidMetadata"},
		{"non-ASCII letter is an identifier", http.Header{"x-ms-meta-é": {"v"}}, map[string]string{"é": "v"}, ""},
		{"symbol", http.Header{"x-ms-meta-a$": {"v"}}, nil, "InvalidMetadata"},
		{"empty name", http.Header{"X-Ms-Meta-": {"v"}}, nil, "EmptyMetadataKey"},
		{"given twice", http.Header{"X-Ms-Meta-A": {"1", "2"}}, nil, "InvalidMetadata"},
		{"given twice in two cases", http.Header{"X-Ms-Meta-A": {"1"}, "x-ms-meta-a": {"2"}}, nil, "InvalidMetadata"},
		{"8 KiB and one byte", http.Header{"X-Ms-Meta-A": {strings.Repeat("v", 8<<10)}}, nil, "MetadataTooLarge"},
		{"8 KiB over several", http.Header{"X-Ms-Meta-A": {strings.Repeat("v", 4<<10)}, "X-Ms-Meta-B": {strings.Repeat("v", 4<<10)}}, nil, "MetadataTooLarge"},
	}
	for _, tc := range tests {
		got, err := ParseMetadata(tc.hdr)
		var e *Error
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s: ParseMetadata(%v) = %v", tc.name, tc.hdr, err)
		case tc.code != "" && (!errors.As(err, &e) || e.Code != tc.code || e.Status != 400):
			t.Errorf("%s: ParseMetadata = %v, %v, want 400 %s", tc.name, got, err, tc.code)
		case tc.code == "" && !sameMeta(got, tc.want):
			t.Errorf("%s: ParseMetadata = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func sameMeta(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// metaHeaders returns the x-ms-meta-* headers of h, names lower-cased.
func metaHeaders(h http.Header) map[string]string {
	m := map[string]string{}
	for k := range h {
		if l := strings.ToLower(k); strings.HasPrefix(l, "x-ms-meta-") {
			m[strings.TrimPrefix(l, "x-ms-meta-")] = h.Get(k)
		}
	}
	return m
}

// TestMetadataRoundTripPutBlob: metadata given on Put Blob comes back on
// Get Blob and Get Blob Properties as the same headers, and a later Put
// Blob replaces it whole.
func TestMetadataRoundTripPutBlob(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	u := b.url("d/m.txt", "rcw", "")
	res, body := b.do("PUT", u, "hello", "x-ms-blob-type", "BlockBlob", "x-ms-meta-sha256", "abc123", "x-ms-meta-Source", "device")
	if res.StatusCode != 201 {
		t.Fatalf("Put Blob = %d %s", res.StatusCode, body)
	}
	want := map[string]string{"sha256": "abc123", "source": "device"}
	for _, method := range []string{"GET", "HEAD"} {
		if res, _ := b.do(method, u, ""); res.StatusCode != 200 || !sameMeta(metaHeaders(res.Header), want) {
			t.Fatalf("%s: %d, metadata %v, want %v", method, res.StatusCode, metaHeaders(res.Header), want)
		}
	}
	if res, body := b.do("PUT", u, "again", "x-ms-blob-type", "BlockBlob", "x-ms-meta-other", "1"); res.StatusCode != 201 {
		t.Fatalf("second Put Blob = %d %s", res.StatusCode, body)
	}
	if res, _ := b.do("HEAD", u, ""); !sameMeta(metaHeaders(res.Header), map[string]string{"other": "1"}) {
		t.Fatalf("after a second Put Blob: metadata %v, want only other=1", metaHeaders(res.Header))
	}
}

// TestMetadataRoundTripPutBlockList: Put Block List stores its metadata
// and x-ms-blob-content-md5 (unchecked, as Azure does) and replaces what
// the blob had; a commit without metadata leaves none.
func TestMetadataRoundTripPutBlockList(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	u := b.url("d/list.log", "rcw", "")
	if res, _ := b.do("PUT", u, "old", "x-ms-blob-type", "BlockBlob", "x-ms-meta-stale", "yes"); res.StatusCode != 201 {
		t.Fatal(res.StatusCode)
	}
	for _, id := range []string{"AAAA", "AAAB"} {
		if res, body := b.do("PUT", b.url("d/list.log", "rcw", "comp=block&blockid="+id), id); res.StatusCode != 201 {
			t.Fatalf("Put Block %s = %d %s", id, res.StatusCode, body)
		}
	}
	notTheMD5 := md5b64("something else") // Azure stores x-ms-blob-content-md5 without checking it
	res, body := b.do("PUT", b.url("d/list.log", "rcw", "comp=blocklist"), `<BlockList><Latest>AAAA</Latest><Latest>AAAB</Latest></BlockList>`,
		"x-ms-meta-sha256", "feed", "x-ms-meta-blocks", "2", "x-ms-blob-content-md5", notTheMD5)
	if res.StatusCode != 201 {
		t.Fatalf("Put Block List = %d %s", res.StatusCode, body)
	}
	want := map[string]string{"sha256": "feed", "blocks": "2"}
	for _, method := range []string{"GET", "HEAD"} {
		res, body := b.do(method, u, "")
		if res.StatusCode != 200 || !sameMeta(metaHeaders(res.Header), want) || res.Header.Get("Content-MD5") != notTheMD5 {
			t.Fatalf("%s: %d %q, metadata %v, Content-MD5 %q", method, res.StatusCode, body, metaHeaders(res.Header), res.Header.Get("Content-MD5"))
		}
	}
	// The wire names are the stored (lower-case) ones, not Go's canonical form.
	rec := httptest.NewRecorder()
	b.srv.ServeHTTP(rec, httptest.NewRequest("HEAD", strings.TrimPrefix(u, b.base), nil))
	if rec.Code != 200 || rec.Header()["x-ms-meta-sha256"] == nil {
		t.Fatalf("HEAD header names: %d %v", rec.Code, rec.Header())
	}
	if res, body := b.do("PUT", b.url("d/list.log", "rcw", "comp=blocklist"), `<BlockList><Committed>AAAA</Committed></BlockList>`); res.StatusCode != 201 {
		t.Fatalf("recommit = %d %s", res.StatusCode, body)
	}
	if res, _ := b.do("HEAD", u, ""); len(metaHeaders(res.Header)) != 0 || res.Header.Get("Content-MD5") != "" {
		t.Fatalf("after a commit without metadata: %v, Content-MD5 %q", metaHeaders(res.Header), res.Header.Get("Content-MD5"))
	}
}

// TestMetadataSurvivesReopen: metadata and Content-MD5 are stored with
// the blob on disk, so a new Store on the same directory (a hub restart)
// returns them.
func TestMetadataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.Put("c01", "whole", strings.NewReader("data"), Attrs{Metadata: map[string]string{"a": "1"}}, Digests{}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlock("c01", "listed", "AAAA", strings.NewReader("block"), Digests{}); err != nil {
		t.Fatal(err)
	}
	md5 := []byte("0123456789abcdef")
	attrs := Attrs{ContentType: "application/gzip", ContentMD5: md5, Metadata: map[string]string{"sha256": "beef", "blocks": "1"}}
	if _, err := s.CommitBlockList("c01", "listed", []BlockRef{{"AAAA", "Latest"}}, attrs, now); err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenStore(dir, StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := reopened.Props("c01", "listed")
	if err != nil || !sameMeta(p.Metadata, attrs.Metadata) || string(p.ContentMD5) != string(md5) || p.ContentType != "application/gzip" {
		t.Fatalf("reopened listed blob = %+v, %v", p, err)
	}
	if p, err := reopened.Props("c01", "whole"); err != nil || !sameMeta(p.Metadata, map[string]string{"a": "1"}) {
		t.Fatalf("reopened whole blob = %+v, %v", p, err)
	}
}

// TestInvalidMetadataRefused: Put Blob and Put Block List with a name
// that is no C# identifier, an empty name or over 8 KiB of metadata are
// 400 with Azure's code, and store nothing (staged blocks stay staged).
func TestInvalidMetadataRefused(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	if res, body := b.do("PUT", b.url("d/bad", "rcw", "comp=block&blockid=AAAA"), "x"); res.StatusCode != 201 {
		t.Fatalf("Put Block = %d %s", res.StatusCode, body)
	}
	tests := []struct{ name, header, value, code string }{
		{"hyphenated name", "x-ms-meta-my-name", "v", "InvalidMetadata"},
		{"leading digit", "x-ms-meta-1st", "v", "InvalidMetadata"},
		{"empty name", "x-ms-meta-", "v", "EmptyMetadataKey"},
		{"over 8 KiB", "x-ms-meta-big", strings.Repeat("v", 8<<10), "MetadataTooLarge"},
	}
	for _, tc := range tests {
		res, body := b.do("PUT", b.url("d/bad", "rcw", ""), "x", "x-ms-blob-type", "BlockBlob", tc.header, tc.value)
		if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != tc.code {
			t.Errorf("Put Blob, %s: %d %s, want 400 %s", tc.name, res.StatusCode, body, tc.code)
		}
		res, body = b.do("PUT", b.url("d/bad", "rcw", "comp=blocklist"), `<BlockList><Latest>AAAA</Latest></BlockList>`, tc.header, tc.value)
		if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != tc.code {
			t.Errorf("Put Block List, %s: %d %s, want 400 %s", tc.name, res.StatusCode, body, tc.code)
		}
	}
	if res, _ := b.do("HEAD", b.url("d/bad", "r", ""), ""); res.StatusCode != 404 {
		t.Fatalf("refused writes stored a blob: HEAD = %d", res.StatusCode)
	}
	if _, list := b.do("GET", b.url("d/bad", "r", "comp=blocklist&blocklisttype=uncommitted"), ""); !strings.Contains(list, "<Name>AAAA</Name>") {
		t.Fatalf("the staged block was consumed: %s", list)
	}
}
