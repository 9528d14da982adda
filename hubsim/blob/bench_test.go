package blob

import (
	"strings"
	"testing"
)

// BenchmarkPutBlob1MiB is one 1 MiB Put Blob over loopback HTTPS to disk.
func BenchmarkPutBlob1MiB(b *testing.B) {
	s := newBlobServer(b, StoreConfig{})
	body := strings.Repeat("x", 1<<20)
	u := s.url("d/bench.bin", "rcw", "")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if res, _ := s.do("PUT", u, body, "x-ms-blob-type", "BlockBlob"); res.StatusCode != 201 {
			b.Fatal(res.StatusCode)
		}
	}
}
