package updatesrv

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, c *http.Client, url, rng string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestServerServesRangesOverTLS(t *testing.T) {
	s := NewTLS()
	defer s.Close()
	s.Publish("f.img", []byte("0123456789"))
	resp, b, err := get(t, s.Client(), s.URL()+"/f.img", "bytes=4-")
	if err != nil || resp.StatusCode != http.StatusPartialContent || string(b) != "456789" ||
		resp.Header.Get("Content-Range") != "bytes 4-9/10" || resp.Header.Get("ETag") == "" {
		t.Fatalf("range GET: %v %v %q", err, resp, b)
	}
	if r := s.Requests(); len(r) != 1 || r[0].Range != "bytes=4-" || r[0].Sent != 6 || r[0].Status != 206 {
		t.Errorf("requests = %+v", r)
	}
}

func TestServerFaults(t *testing.T) {
	s := New()
	defer s.Close()
	content := strings.Repeat("x", 1000)
	s.Publish("f.img", []byte(content))
	s.SetFault("f.img", Fault{Status: 500, Times: 1})
	if resp, _, _ := get(t, s.Client(), s.URL()+"/f.img", ""); resp.StatusCode != 500 {
		t.Errorf("first request: %d, want 500", resp.StatusCode)
	}
	if resp, b, _ := get(t, s.Client(), s.URL()+"/f.img", ""); resp.StatusCode != 200 || len(b) != 1000 {
		t.Errorf("second request: %d %d bytes, want the file", resp.StatusCode, len(b))
	}
	s.SetFault("f.img", Fault{Truncate: true, TruncateAfter: 100})
	if _, b, err := get(t, s.Client(), s.URL()+"/f.img", ""); err == nil || len(b) != 100 {
		t.Errorf("truncated: %d bytes, err %v; want 100 and an unexpected EOF", len(b), err)
	}
	s.SetFault("f.img", Fault{Corrupt: true})
	if _, b, _ := get(t, s.Client(), s.URL()+"/f.img", ""); len(b) != 1000 || string(b) == content {
		t.Error("corrupt fault served the real bytes")
	}
	s.SetFault("f.img", Fault{IgnoreRange: true})
	if resp, b, _ := get(t, s.Client(), s.URL()+"/f.img", "bytes=10-"); resp.StatusCode != 200 || len(b) != 1000 {
		t.Errorf("ignore range: %d %d bytes", resp.StatusCode, len(b))
	}
	if resp, _, _ := get(t, s.Client(), s.URL()+"/missing", ""); resp.StatusCode != 404 {
		t.Errorf("missing file: %d", resp.StatusCode)
	}
}
