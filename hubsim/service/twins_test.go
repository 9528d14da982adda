package service

import (
	"strings"
	"testing"
)

// TestTwinPatch: PATCH merges tags and desired in one update, notifies the
// device with the applied patch and its $version, and honours If-Match
// (PROTOCOL.md §4 "Twin"; REQ-TWIN).
func TestTwinPatch(t *testing.T) {
	th := newTestHub(t, Config{})
	th.owner("PUT", "/devices/d1", map[string]any{})
	var before map[string]any
	th.owner("GET", "/twins/d1", nil).decode(t, &before)
	for _, k := range []string{"deviceId", "etag", "deviceEtag", "version", "status", "connectionState", "authenticationType",
		"tags", "properties", "capabilities", "x509Thumbprint", "statusUpdateTime", "lastActivityTime", "cloudToDeviceMessageCount"} {
		if _, ok := before[k]; !ok {
			t.Errorf("GET /twins lacks %q: %v", k, before)
		}
	}
	etag := before["etag"].(string)
	patch := map[string]any{"tags": map[string]any{"ward": "icu"}, "properties": map[string]any{
		"desired": map[string]any{"interval": 30}, "reported": map[string]any{"ignored": true}}}
	expectError(t, "stale etag", th.owner("PATCH", "/twins/d1", patch, "If-Match", `"AAAAAAAAAAA="`), 412, "PreconditionFailed")
	r := th.owner("PATCH", "/twins/d1", patch, "If-Match", `"`+etag+`"`)
	var after struct {
		ETag       string         `json:"etag"`
		Version    int            `json:"version"`
		Tags       map[string]any `json:"tags"`
		Properties struct {
			Desired, Reported map[string]any
		} `json:"properties"`
	}
	r.decode(t, &after)
	if r.status != 200 || after.ETag == etag || after.Tags["ward"] != "icu" || after.Properties.Desired["interval"] != 30.0 ||
		after.Properties.Desired["$version"] != 2.0 || after.Properties.Reported["ignored"] != nil {
		t.Fatalf("PATCH = %d %s", r.status, r.body)
	}
	if got := th.notifications(); len(got) != 1 || got[0] != `d1 2 {"interval":30,"$version":2}` {
		t.Fatalf("notifications = %q", got)
	}
	// A twin read and sent back (with $metadata and $version) is accepted.
	th.owner("PATCH", "/twins/d1", map[string]any{"properties": map[string]any{"desired": after.Properties.Desired}})
	if r := th.owner("PATCH", "/twins/d1", `{"tags":{"only":"tags"}}`); r.status != 200 || len(th.notifications()) != 2 {
		t.Fatalf("tags-only PATCH = %d, notifications %q", r.status, th.notifications())
	}
}

// TestTwinReplaceAndErrors: PUT replaces tags and desired (the device gets
// the whole new section); bad input is 400, unknown devices 404.
func TestTwinReplaceAndErrors(t *testing.T) {
	th := newTestHub(t, Config{})
	th.owner("PUT", "/devices/d1", map[string]any{})
	th.owner("PATCH", "/twins/d1", `{"tags":{"a":1},"properties":{"desired":{"old":1}}}`)
	r := th.owner("PUT", "/twins/d1", `{"tags":{"b":2},"properties":{"desired":{"new":{"x":true}}}}`)
	if r.status != 200 || strings.Contains(string(r.body), `"old"`) || strings.Contains(string(r.body), `"a":1`) {
		t.Fatalf("PUT /twins = %d %s", r.status, r.body)
	}
	if n := th.notifications(); n[len(n)-1] != `d1 3 {"new":{"x":true},"$version":3}` {
		t.Fatalf("replace notification = %q", n[len(n)-1])
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		errName            string
	}{
		{"bad JSON", "PATCH", "/twins/d1", `{"tags":`, 400, "IotHubFormatError"},
		{"dotted key", "PATCH", "/twins/d1", `{"properties":{"desired":{"a.b":1}}}`, 400, "ArgumentInvalid"},
		{"tags not object", "PATCH", "/twins/d1", `{"tags":[1]}`, 400, "ArgumentInvalid"},
		{"too deep", "PATCH", "/twins/d1", `{"tags":` + strings.Repeat(`{"a":`, 12) + "1" + strings.Repeat("}", 12) + `}`, 400, "ArgumentInvalid"},
		{"unknown GET", "GET", "/twins/nope", nil, 404, "DeviceNotFound"},
		{"unknown PATCH", "PATCH", "/twins/nope", `{}`, 404, "DeviceNotFound"},
	}
	for _, tc := range tests {
		expectError(t, tc.name, th.owner(tc.method, tc.path, tc.body), tc.status, tc.errName)
	}
}
