package blob

import (
	"bufio"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// FuzzParseRequest: ParseRequest never panics, fails only with an *Error,
// and what it accepts has an operation and names that obey the rules.
// Seeds are in testdata/fuzz/FuzzParseRequest.
func FuzzParseRequest(f *testing.F) {
	f.Add("PUT", "/fileupload/dev1%2Flog.txt", "sv=2018-03-28&sr=b&sig=abc%3D&se=2030-01-01T00%3A00%3A00Z&sp=rcw")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		req, err := ParseRequest(method, path, query)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 {
				t.Fatalf("ParseRequest(%q, %q, %q) error %v, want an *Error", method, path, query, err)
			}
			return
		}
		if req.Op == 0 || !validContainer(req.Container) || !validBlobName(req.Blob) {
			t.Fatalf("ParseRequest(%q, %q, %q) = %+v", method, path, query, req)
		}
		if req.Op == OpPutBlock {
			if _, err := DecodeBlockID(req.BlockID); err != nil {
				t.Fatalf("accepted block id %q", req.BlockID)
			}
		}
	})
}

// FuzzParseBlockList: ParseBlockList never panics, fails only with an
// *Error, and every reference it returns has a valid ID and kind.
func FuzzParseBlockList(f *testing.F) {
	f.Add(`<?xml version="1.0"?><BlockList><Latest>AAAA</Latest><Committed>AAAB</Committed><Uncommitted>AAAC</Uncommitted></BlockList>`)
	f.Fuzz(func(t *testing.T, body string) {
		refs, err := ParseBlockList(strings.NewReader(body))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseBlockList(%q) error %v, want an *Error", body, err)
			}
			return
		}
		for _, r := range refs {
			if _, err := DecodeBlockID(r.ID); err != nil || (r.Kind != "Latest" && r.Kind != "Committed" && r.Kind != "Uncommitted") {
				t.Fatalf("ParseBlockList(%q) returned %+v", body, r)
			}
		}
	})
}

// FuzzParseMetadata: ParseMetadata never panics on headers as net/http
// reads them, fails only with a 400 *Error, and what it accepts has
// lower-case identifier names within 8 KiB that survive being written
// back as response headers and parsed again. Seeds are in
// testdata/fuzz/FuzzParseMetadata.
func FuzzParseMetadata(f *testing.F) {
	f.Add("x-ms-meta-sha256: abc\r\nX-Ms-Meta-Source: device\r\nContent-Type: text/plain\r\n")
	f.Fuzz(func(t *testing.T, block string) {
		mh, err := textproto.NewReader(bufio.NewReader(strings.NewReader(block + "\r\n\r\n"))).ReadMIMEHeader()
		if err != nil {
			return // net/http would have refused the request
		}
		m, err := ParseMetadata(http.Header(mh))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("ParseMetadata(%q) error %v, want a 400 *Error", block, err)
			}
			return
		}
		size := 0
		for k, v := range m {
			if !validMetadataName(k) || strings.ToLower(k) != k {
				t.Fatalf("ParseMetadata(%q) accepted name %q", block, k)
			}
			size += len(k) + len(v)
		}
		if size > MaxMetadataBytes {
			t.Fatalf("ParseMetadata(%q) accepted %d bytes", block, size)
		}
		out := http.Header{}
		writeMetadata(out, m)
		if again, err := ParseMetadata(out); err != nil || !sameMeta(again, m) {
			t.Fatalf("round trip of %v = %v, %v", m, again, err)
		}
	})
}
