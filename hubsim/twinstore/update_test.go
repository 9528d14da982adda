package twinstore

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestUpdateMergesTagsAndDesiredInOneVersion: a service PATCH with tags and
// desired is one twin update (one version, one etag) and one desired
// notification holding the patch (PROTOCOL.md §4 Twin).
func TestUpdateMergesTagsAndDesiredInOneVersion(t *testing.T) {
	s, _ := newStore(t, "d1")
	if _, _, err := s.PatchDesired("d1", []byte(`{"keep":1,"drop":2}`)); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get("d1")
	ch, err := s.Update("d1", Update{
		IfMatch: `"` + before.ETag + `"`,
		Tags:    []byte(`{"ward":"icu"}`),
		Desired: []byte(`{"drop":null,"interval":30}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Twin.Version != before.Version+1 || ch.Twin.ETag == before.ETag {
		t.Errorf("version %d etag %s, want %d and a new etag", ch.Twin.Version, ch.Twin.ETag, before.Version+1)
	}
	if ch.DesiredVersion != 3 || string(ch.Notification) != `{"drop":null,"interval":30,"$version":3}` {
		t.Errorf("desired version %d, notification %s", ch.DesiredVersion, ch.Notification)
	}
	if got := jsonString(t, ch.Twin.Desired.Props); got != `{"interval":30,"keep":1}` {
		t.Errorf("desired = %s", got)
	}
	if got := jsonString(t, ch.Twin.Tags); got != `{"ward":"icu"}` {
		t.Errorf("tags = %s", got)
	}
}

// TestUpdateTagsOnlySendsNoNotification: no desired change, no
// notification and no desired $version bump.
func TestUpdateTagsOnlySendsNoNotification(t *testing.T) {
	s, _ := newStore(t, "d1")
	ch, err := s.Update("d1", Update{Tags: []byte(`{"a":{"b":1}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Notification != nil || ch.DesiredVersion != 0 || ch.Twin.Desired.Version != 1 {
		t.Errorf("change = %+v, want no desired change", ch)
	}
}

// TestUpdateReplace: PUT replaces tags and desired; the device gets the
// whole new desired section; metadata is rebuilt.
func TestUpdateReplace(t *testing.T) {
	s, c := newStore(t, "d1")
	if _, _, err := s.PatchDesired("d1", []byte(`{"old":{"x":1}}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PatchTags("d1", []byte(`{"oldTag":1}`)); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Second)
	ch, err := s.Update("d1", Update{Replace: true, Desired: []byte(`{"new":{"y":2},"gone":null}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ch.Notification); got != `{"new":{"y":2},"$version":3}` {
		t.Errorf("notification = %s", got)
	}
	if got := jsonString(t, ch.Twin.Tags); got != `{}` {
		t.Errorf("tags after replace without tags = %s, want {}", got)
	}
	meta := ch.Twin.Desired.Metadata
	if _, ok := meta["old"]; ok {
		t.Errorf("metadata keeps the replaced property: %v", meta)
	}
	if got := meta["new"].(map[string]any)["$lastUpdated"]; got != "2030-01-02T03:04:06.678Z" {
		t.Errorf("new $lastUpdated = %v", got)
	}
}

// TestUpdateRejectsAtomically: a bad etag, a bad section or an oversize
// section leaves the twin exactly as it was.
func TestUpdateRejectsAtomically(t *testing.T) {
	s, _ := newStore(t, "d1")
	before, _ := s.Get("d1")
	tests := []struct {
		name   string
		u      Update
		status int
	}{
		{"stale etag", Update{IfMatch: `"AAAAAAAAAAA="`, Tags: []byte(`{"a":1}`)}, 412},
		{"bad desired", Update{Tags: []byte(`{"a":1}`), Desired: []byte(`{"a.b":1}`)}, 400},
		{"tags not object", Update{Tags: []byte(`[1]`)}, 400},
		{"tags too large", Update{Tags: []byte(`{"a":"` + strings.Repeat("x", 4000) + `","b":"` +
			strings.Repeat("x", 4000) + `","c":"` + strings.Repeat("x", 300) + `"}`)}, 400},
	}
	for _, tc := range tests {
		_, err := s.Update("d1", tc.u)
		var te *Error
		if !errors.As(err, &te) || te.Status != tc.status {
			t.Errorf("%s: Update = %v, want status %d", tc.name, err, tc.status)
		}
		if after, _ := s.Get("d1"); after.ETag != before.ETag || len(after.Tags) != 0 {
			t.Errorf("%s: twin changed: %+v", tc.name, after)
		}
	}
	if _, err := s.Update("nope", Update{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.Update("d1", Update{IfMatch: "*", Tags: []byte(`{"a":1}`)}); err != nil {
		t.Errorf("If-Match * = %v", err)
	}
}

func jsonString(t testing.TB, v map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	if err := appendObject(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
