package service

import (
	"strings"
	"sync"
	"testing"

	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// publishRecorder is a Config.PublishURLs that answers fixed URLs for the
// name and records the names asked for.
type publishRecorder struct {
	mu    sync.Mutex
	names []string // guarded by mu
}

func (p *publishRecorder) urls(name string) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.names = append(p.names, name)
	return "https://up.example/" + name, "https://down.example/" + name, nil
}

func (p *publishRecorder) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.names...)
}

// TestSimPublishURLs: POST /_sim/updates/{name} answers the upload and
// download URLs Config.PublishURLs makes for the name, without an
// api-version, to iothubowner only.
func TestSimPublishURLs(t *testing.T) {
	rec := &publishRecorder{}
	th := newTestHub(t, Config{PublishURLs: rec.urls})
	const path = "/_sim/updates/Cloud-Pillar/carto3-v7/7.3.0/carto_7.3.0.img"
	var got publishJSON
	r := th.owner("POST", path, nil)
	r.decode(t, &got)
	want := "Cloud-Pillar/carto3-v7/7.3.0/carto_7.3.0.img"
	if r.status != 200 || got.UploadURL != "https://up.example/"+want || got.DownloadURL != "https://down.example/"+want {
		t.Fatalf("POST %s = %d %s", path, r.status, r.body)
	}
	tests := []struct{ name, auth string }{
		{"no header", ""},
		{"service", th.token(sas.PolicyService)},
		{"registryReadWrite", th.token(sas.PolicyRegistryReadWrite)},
		{"device policy", th.token(sas.PolicyDevice)},
	}
	for _, tc := range tests {
		expectError(t, tc.name, th.do(th.client, "POST", path, tc.auth, nil), 401, "IotHubUnauthorizedAccess")
	}
	if names := rec.asked(); len(names) != 1 || names[0] != want {
		t.Fatalf("PublishURLs asked for %q, want only %q", names, want)
	}
}

// TestSimPublishURLsNotWired: without Config.PublishURLs the route is 501.
func TestSimPublishURLsNotWired(t *testing.T) {
	th := newTestHub(t, Config{})
	expectError(t, "publish without PublishURLs", th.owner("POST", "/_sim/updates/p/n/1.0/f.img", nil), 501, "NotImplemented")
}

// TestSimPublishURLsRefusesBadNames: names the blob store could not hold
// safely are 400 ArgumentInvalid and never reach PublishURLs.
func TestSimPublishURLsRefusesBadNames(t *testing.T) {
	rec := &publishRecorder{}
	th := newTestHub(t, Config{PublishURLs: rec.urls})
	tests := []struct{ name, path string }{
		{"empty", "/_sim/updates/"},
		{"empty segment at the end", "/_sim/updates/a/"},
		{"space", "/_sim/updates/Cloud%20Pillar/f.img"},
		{"tilde", "/_sim/updates/a~b"},
		{"non-ASCII", "/_sim/updates/caf%C3%A9.img"},
		{"percent", "/_sim/updates/a%25b"},
		{"dot at the end", "/_sim/updates/a/b."},
		{"too long", "/_sim/updates/" + strings.Repeat("a", maxUpdateName+1)},
	}
	for _, tc := range tests {
		expectError(t, tc.name, th.owner("POST", tc.path, nil), 400, "ArgumentInvalid")
	}
	if names := rec.asked(); len(names) != 0 {
		t.Fatalf("PublishURLs asked for %q after bad names", names)
	}
	if r := th.owner("POST", "/_sim/updates/"+strings.Repeat("a", maxUpdateName), nil); r.status != 200 {
		t.Fatalf("a %d-byte name = %d %s, want 200", maxUpdateName, r.status, r.body)
	}
}

// TestCheckUpdateName covers the segments the router cleans away before
// the handler sees them ("." and "..", empty ones).
func TestCheckUpdateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"f.img", true},
		{"Cloud-Pillar/carto3-v7/7.3.0/rootfs_a.img", true},
		{".hidden/x", true},
		{"", false},
		{"/a", false},
		{"a//b", false},
		{"a/./b", false},
		{"a/../b", false},
		{"..", false},
		{"a/b/", false},
		{"a.", false},
		{"a b", false},
		{"a\\b", false},
		{"a\x00b", false},
		{strings.Repeat("x", maxUpdateName), true},
		{strings.Repeat("x", maxUpdateName+1), false},
	}
	for _, tc := range tests {
		if err := checkUpdateName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkUpdateName(%q) = %v, want ok %v", clip(tc.name), err, tc.ok)
		}
	}
}
