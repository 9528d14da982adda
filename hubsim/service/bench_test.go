package service

import (
	"fmt"
	"testing"
)

// BenchmarkGetTwin is one GET /twins/{id} over loopback HTTPS (keep-alive).
func BenchmarkGetTwin(b *testing.B) {
	th := newTestHub(b, Config{})
	th.owner("PUT", "/devices/d1", map[string]any{})
	th.owner("PATCH", "/twins/d1", `{"tags":{"ward":"icu"},"properties":{"desired":{"interval":30}}}`)
	tok := th.token("service")
	for b.Loop() {
		if r := th.do(th.client, "GET", "/twins/d1", tok, nil); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}

// BenchmarkQuery1000Devices is one POST /devices/query over 1,000 twins
// returning one page of 100.
func BenchmarkQuery1000Devices(b *testing.B) {
	th := newTestHub(b, Config{})
	for i := range 1000 {
		id := fmt.Sprintf("d%04d", i)
		th.owner("PUT", "/devices/"+id, map[string]any{})
		th.owner("PATCH", "/twins/"+id, map[string]any{"tags": map[string]any{"n": i}})
	}
	tok := th.token("service")
	for b.Loop() {
		if r := th.do(th.client, "POST", "/devices/query", tok, `{"query":"SELECT * FROM devices WHERE tags.n >= 500"}`); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}
