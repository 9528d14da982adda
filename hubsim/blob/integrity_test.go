package blob

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"hash/crc64"
	"strings"
	"testing"
)

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// crc64b64 is x-ms-content-crc64 as the Azure SDK for Go computes it:
// hash/crc64 with Azure's polynomial, the 64-bit value little-endian,
// base64 (azblob TransferValidationTypeCRC64).
func crc64b64(s string) string {
	sum := crc64.Checksum([]byte(s), crc64.MakeTable(0x9A6C9329AC4BC9B5))
	return base64.StdEncoding.EncodeToString(binary.LittleEndian.AppendUint64(nil, sum))
}

// TestPutBlockChecksContentMD5: a Put Block whose Content-MD5 does not
// match its body is 400 Md5Mismatch and stages nothing; a matching one is
// staged and answered with the MD5; a malformed one is 400 InvalidMd5
// (Blob REST "Put Block", request header Content-MD5).
func TestPutBlockChecksContentMD5(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	block := func(id string) string { return b.url("d/blk", "rcw", "comp=block&blockid="+id) }
	res, body := b.do("PUT", block("AAAA"), "block body", "Content-MD5", md5b64("other body"))
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "Md5Mismatch" {
		t.Fatalf("mismatching Content-MD5 = %d %s", res.StatusCode, body)
	}
	if res, body := b.do("GET", b.url("d/blk", "r", "comp=blocklist&blocklisttype=all"), ""); res.StatusCode != 404 {
		t.Fatalf("a refused block was staged: %d %s", res.StatusCode, body)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if res, body := b.do("PUT", block("AAAA"), "block body", "Content-MD5", bad); res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "InvalidMd5" {
			t.Errorf("Content-MD5 %q = %d %s, want 400 InvalidMd5", bad, res.StatusCode, body)
		}
	}
	res, body = b.do("PUT", block("AAAB"), "block body", "Content-MD5", md5b64("block body"))
	if res.StatusCode != 201 || res.Header.Get("Content-MD5") != md5b64("block body") {
		t.Fatalf("matching Content-MD5 = %d %s %v", res.StatusCode, body, res.Header)
	}
	_, list := b.do("GET", b.url("d/blk", "r", "comp=blocklist&blocklisttype=uncommitted"), "")
	if !strings.Contains(list, "<Name>AAAB</Name>") || strings.Contains(list, "<Name>AAAA</Name>") {
		t.Fatalf("uncommitted blocks = %s", list)
	}
}

// TestPutBlobChecksContentMD5: a Put Blob whose Content-MD5 does not
// match is 400 Md5Mismatch and leaves the blob as it was (absent, or its
// old content); a matching one is stored (Blob REST "Put Blob").
func TestPutBlobChecksContentMD5(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	u := b.url("d/whole", "rcw", "")
	res, body := b.do("PUT", u, "new content", "x-ms-blob-type", "BlockBlob", "Content-MD5", md5b64("tampered"))
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "Md5Mismatch" {
		t.Fatalf("mismatching Content-MD5 = %d %s", res.StatusCode, body)
	}
	if res, _ := b.do("HEAD", u, ""); res.StatusCode != 404 {
		t.Fatalf("a refused Put Blob created the blob: %d", res.StatusCode)
	}
	res, body = b.do("PUT", u, "first", "x-ms-blob-type", "BlockBlob", "Content-MD5", md5b64("first"))
	if res.StatusCode != 201 || res.Header.Get("Content-MD5") != md5b64("first") {
		t.Fatalf("matching Content-MD5 = %d %s", res.StatusCode, body)
	}
	if res, body := b.do("PUT", u, "second", "x-ms-blob-type", "BlockBlob", "Content-MD5", md5b64("first")); res.StatusCode != 400 {
		t.Fatalf("mismatch over an existing blob = %d %s", res.StatusCode, body)
	}
	if res, got := b.do("GET", u, ""); got != "first" || res.Header.Get("Content-MD5") != md5b64("first") {
		t.Fatalf("after a refused overwrite: %q, Content-MD5 %q", got, res.Header.Get("Content-MD5"))
	}
}

// TestContentCRC64Checked: x-ms-content-crc64 (Azure's CRC-64, as the
// SDK sends it) is checked like Content-MD5: 400 Crc64Mismatch and
// nothing stored on a mismatch.
func TestContentCRC64Checked(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	res, body := b.do("PUT", b.url("d/crc", "rcw", "comp=block&blockid=AAAA"), "crc body", "x-ms-content-crc64", crc64b64("crc bodY"))
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "Crc64Mismatch" {
		t.Fatalf("mismatching CRC64 = %d %s", res.StatusCode, body)
	}
	res, body = b.do("PUT", b.url("d/crc", "rcw", "comp=block&blockid=AAAA"), "crc body", "x-ms-content-crc64", crc64b64("crc body"))
	if res.StatusCode != 201 || res.Header.Get("x-ms-content-crc64") != crc64b64("crc body") {
		t.Fatalf("matching CRC64 = %d %s %v", res.StatusCode, body, res.Header)
	}
	u := b.url("d/crc-whole", "rcw", "")
	if res, body := b.do("PUT", u, "whole", "x-ms-blob-type", "BlockBlob", "x-ms-content-crc64", crc64b64("other")); res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "Crc64Mismatch" {
		t.Fatalf("Put Blob with mismatching CRC64 = %d %s", res.StatusCode, body)
	}
	if res, _ := b.do("HEAD", u, ""); res.StatusCode != 404 {
		t.Fatalf("a refused Put Blob created the blob: %d", res.StatusCode)
	}
	if res, body := b.do("PUT", b.url("d/crc", "rcw", "comp=block&blockid=AAAB"), "x", "x-ms-content-crc64", "AAAA"); res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Fatalf("a 3-byte CRC64 = %d %s", res.StatusCode, body)
	}
}

// TestPutBlockListChecksContentMD5: Put Block List's own Content-MD5
// covers the XML body and is checked; the blocks stay staged on a
// mismatch.
func TestPutBlockListChecksContentMD5(t *testing.T) {
	b := newBlobServer(t, StoreConfig{})
	if res, _ := b.do("PUT", b.url("d/pbl", "rcw", "comp=block&blockid=AAAA"), "x"); res.StatusCode != 201 {
		t.Fatal(res.StatusCode)
	}
	list := `<BlockList><Latest>AAAA</Latest></BlockList>`
	res, body := b.do("PUT", b.url("d/pbl", "rcw", "comp=blocklist"), list, "Content-MD5", md5b64(list+" "))
	if res.StatusCode != 400 || res.Header.Get("x-ms-error-code") != "Md5Mismatch" {
		t.Fatalf("mismatching Content-MD5 = %d %s", res.StatusCode, body)
	}
	if res, body := b.do("PUT", b.url("d/pbl", "rcw", "comp=blocklist"), list, "Content-MD5", md5b64(list)); res.StatusCode != 201 {
		t.Fatalf("matching Content-MD5 = %d %s", res.StatusCode, body)
	}
}
