package twinstore

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

func newStore(t testing.TB, ids ...string) (*Store, *fakeClock) {
	t.Helper()
	c := &fakeClock{now: t0}
	s := New(c)
	for _, id := range ids {
		if err := s.Create(id); err != nil {
			t.Fatalf("Create(%q): %v", id, err)
		}
	}
	return s, c
}

func deviceDocString(t testing.TB, s *Store, id string) string {
	t.Helper()
	b, err := s.DeviceDoc(id)
	if err != nil {
		t.Fatalf("DeviceDoc(%q): %v", id, err)
	}
	return string(b)
}

// TestNewTwin: a new twin has both sections at $version 1 (REQ-TWIN, §2.3).
func TestNewTwin(t *testing.T) {
	s, _ := newStore(t, "d1")
	if got, want := deviceDocString(t, s, "d1"), `{"desired":{"$version":1},"reported":{"$version":1}}`; got != want {
		t.Errorf("DeviceDoc = %s, want %s", got, want)
	}
	tw, err := s.Get("d1")
	if err != nil {
		t.Fatal(err)
	}
	if tw.Version != 1 || tw.ETag != "AAAAAAAAAAE=" || tw.Desired.Version != 1 || tw.Reported.Version != 1 {
		t.Errorf("Get = %+v", tw)
	}
}

func TestCreateDeleteErrors(t *testing.T) {
	s, _ := newStore(t, "d1")
	if err := s.Create("d1"); !errors.Is(err, ErrExists) {
		t.Errorf("Create(existing) = %v, want ErrExists", err)
	}
	var te *Error
	if err := s.Create(""); !errors.As(err, &te) || te.Status != 400 {
		t.Errorf("Create(\"\") = %v, want a 400 *Error", err)
	}
	s.Delete("d1")
	s.Delete("never-there")
	checks := map[string]error{}
	_, checks["DeviceDoc"] = s.DeviceDoc("d1")
	_, checks["PatchReported"] = s.PatchReported("d1", []byte(`{}`))
	_, _, checks["PatchDesired"] = s.PatchDesired("d1", []byte(`{}`))
	checks["PatchTags"] = s.PatchTags("d1", []byte(`{}`))
	_, checks["Get"] = s.Get("d1")
	for op, err := range checks {
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &te) || te.Status != 404 || te.Code != 404001 {
			t.Errorf("%s after Delete = %v, want ErrNotFound (404/404001)", op, err)
		}
	}
	if err := s.Create("d1"); err != nil {
		t.Errorf("Create after Delete: %v", err)
	}
}

// TestPatchReportedMerge: patches merge recursively, null deletes, and
// $version grows by exactly 1 per accepted patch (§2.3-2.4).
func TestPatchReportedMerge(t *testing.T) {
	tests := []struct {
		name    string
		patches []string
		want    string // the reported section of the device doc
	}{
		{"empty patch still counts", []string{`{}`}, `{"$version":2}`},
		{"leaf", []string{`{"a":1}`}, `{"a":1,"$version":2}`},
		{"replace leaf", []string{`{"a":1}`, `{"a":"x"}`}, `{"a":"x","$version":3}`},
		{"nested merge", []string{`{"o":{"a":1,"b":2}}`, `{"o":{"b":3,"c":4}}`}, `{"o":{"a":1,"b":3,"c":4},"$version":3}`},
		{"null deletes", []string{`{"a":1,"b":2}`, `{"a":null}`}, `{"b":2,"$version":3}`},
		{"nested null deletes", []string{`{"o":{"a":1,"b":2}}`, `{"o":{"a":null}}`}, `{"o":{"b":2},"$version":3}`},
		{"null for missing key", []string{`{"zz":null}`}, `{"$version":2}`},
		{"null inside new object", []string{`{"o":{"a":null,"b":1}}`}, `{"o":{"b":1},"$version":2}`},
		{"object replaces leaf", []string{`{"a":1}`, `{"a":{"b":2}}`}, `{"a":{"b":2},"$version":3}`},
		{"leaf replaces object", []string{`{"a":{"b":2}}`, `{"a":true}`}, `{"a":true,"$version":3}`},
		{"array replaces", []string{`{"a":[1,2,3]}`, `{"a":[null,{"x":"y"}]}`}, `{"a":[null,{"x":"y"}],"$version":3}`},
		{"large integer exact", []string{`{"n":4503599627370495,"m":-4503599627370496}`}, `{"m":-4503599627370496,"n":4503599627370495,"$version":2}`},
		{"floats kept as written", []string{`{"f":21.50,"e":1e3}`}, `{"e":1e3,"f":21.50,"$version":2}`},
		{"unicode and html", []string{`{"ünï":"<ok> & \u00e9"}`}, `{"ünï":"<ok> & é","$version":2}`},
		{"wire sas-twin patch", []string{`{"telemetryInterval":{"value":10,"ac":200,"av":5},"fw":null,"ünï":"ok"}`},
			`{"telemetryInterval":{"ac":200,"av":5,"value":10},"ünï":"ok","$version":2}`},
		{"whitespace around", []string{" \n{\"a\":1}\t "}, `{"a":1,"$version":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, "d1")
			for i, p := range tc.patches {
				v, err := s.PatchReported("d1", []byte(p))
				if err != nil {
					t.Fatalf("PatchReported(%s): %v", p, err)
				}
				if v != i+2 {
					t.Fatalf("PatchReported(%s) version = %d, want %d", p, v, i+2)
				}
			}
			want := `{"desired":{"$version":1},"reported":` + tc.want + `}`
			if got := deviceDocString(t, s, "d1"); got != want {
				t.Errorf("DeviceDoc =\n %s\nwant\n %s", got, want)
			}
		})
	}
}

func TestPatchDesiredNotification(t *testing.T) {
	s, _ := newStore(t, "d1")
	v, note, err := s.PatchDesired("d1", []byte(`{"telemetryInterval":30,"fw":{"version":"1.2.3"}}`))
	if err != nil || v != 2 || string(note) != `{"fw":{"version":"1.2.3"},"telemetryInterval":30,"$version":2}` {
		t.Fatalf("PatchDesired = %d, %s, %v", v, note, err)
	}
	v, note, err = s.PatchDesired("d1", []byte(`{"fw":null,"telemetryInterval":10}`))
	if err != nil || v != 3 || string(note) != `{"fw":null,"telemetryInterval":10,"$version":3}` {
		t.Fatalf("PatchDesired = %d, %s, %v", v, note, err)
	}
	_, note, _ = s.PatchDesired("d1", []byte(`{}`))
	if string(note) != `{"$version":4}` {
		t.Errorf("empty patch notification = %s", note)
	}
	want := `{"desired":{"telemetryInterval":10,"$version":4},"reported":{"$version":1}}`
	if got := deviceDocString(t, s, "d1"); got != want {
		t.Errorf("DeviceDoc = %s, want %s", got, want)
	}
	for _, bad := range []string{`{"a b":1}`, `[]`, bigPatch(MaxSectionSize + 1)} {
		if v, note, err := s.PatchDesired("d1", []byte(bad)); err == nil || v != 0 || note != nil {
			t.Errorf("PatchDesired(%.40q) = %d, %s, %v; want an error", bad, v, note, err)
		}
	}
	if got := deviceDocString(t, s, "d1"); got != want {
		t.Errorf("rejected desired patches changed the doc: %s", got)
	}
}

func TestPatchTags(t *testing.T) {
	s, _ := newStore(t, "d1")
	if err := s.PatchTags("d1", []byte(`{"location":{"region":"eu"},"x":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PatchTags("d1", []byte(`{"x":null}`)); err != nil {
		t.Fatal(err)
	}
	tw, _ := s.Get("d1")
	if b, _ := json.Marshal(tw.Tags); string(b) != `{"location":{"region":"eu"}}` || tw.Version != 3 {
		t.Errorf("tags = %s, version %d", b, tw.Version)
	}
	big := `{"t":"` + strings.Repeat("x", 4000) + `","u":"` + strings.Repeat("y", 4000) + `","v":"` + strings.Repeat("z", 200) + `"}`
	if err := s.PatchTags("d1", []byte(big)); err == nil || !strings.Contains(err.Error(), "8192-byte limit") {
		t.Errorf("PatchTags over 8 KB = %v", err)
	}
	if err := s.PatchTags("d1", []byte(`{"$bad":1}`)); err == nil {
		t.Error("PatchTags accepted a $ key")
	}
}

// TestETagChangesOnEveryUpdate: the twin etag and version move with every
// accepted update, and are kept by a rejected one.
func TestETagChangesOnEveryUpdate(t *testing.T) {
	s, _ := newStore(t, "d1")
	seen := map[string]bool{}
	last, _ := s.Get("d1")
	seen[last.ETag] = true
	updates := []func() error{
		func() error { _, err := s.PatchReported("d1", []byte(`{"a":1}`)); return err },
		func() error { _, _, err := s.PatchDesired("d1", []byte(`{"a":1}`)); return err },
		func() error { return s.PatchTags("d1", []byte(`{"a":1}`)) },
		func() error { _, err := s.PatchReported("d1", []byte(`{}`)); return err },
	}
	for i, u := range updates {
		if err := u(); err != nil {
			t.Fatal(err)
		}
		tw, _ := s.Get("d1")
		if seen[tw.ETag] || tw.Version != last.Version+1 {
			t.Errorf("update %d: etag %q (seen %v), version %d after %d", i, tw.ETag, seen[tw.ETag], tw.Version, last.Version)
		}
		seen[tw.ETag], last = true, tw
	}
	if _, err := s.PatchReported("d1", []byte(`[]`)); err == nil {
		t.Fatal("array patch accepted")
	}
	if tw, _ := s.Get("d1"); tw.ETag != last.ETag || tw.Version != last.Version {
		t.Errorf("rejected patch changed etag/version: %+v", tw)
	}
}

func TestErrorBody(t *testing.T) {
	e := &Error{Status: 400, Code: 400004, Message: `property "reported.a b": key must not contain a space`}
	if got, want := string(e.Body()), `{"errorCode":400004,"message":"property \"reported.a b\": key must not contain a space"}`; got != want {
		t.Errorf("Body() = %s, want %s", got, want)
	}
	if got := e.Error(); !strings.HasPrefix(got, "400004 property") {
		t.Errorf("Error() = %q", got)
	}
}

func TestGetReturnsCopies(t *testing.T) {
	s, _ := newStore(t, "d1")
	if _, err := s.PatchReported("d1", []byte(`{"o":{"a":[1]}}`)); err != nil {
		t.Fatal(err)
	}
	tw, _ := s.Get("d1")
	tw.Reported.Props["o"].(map[string]any)["a"].([]any)[0] = "changed"
	tw.Reported.Props["new"] = true
	tw.Reported.Metadata["o"] = nil
	if got := deviceDocString(t, s, "d1"); got != `{"desired":{"$version":1},"reported":{"o":{"a":[1]},"$version":2}}` {
		t.Errorf("store changed through Get's result: %s", got)
	}
	if tw2, _ := s.Get("d1"); tw2.Reported.Metadata["o"] == nil {
		t.Error("metadata changed through Get's result")
	}
}

func BenchmarkPatchReported(b *testing.B) {
	s, _ := newStore(b, "d1")
	patch := []byte(`{"telemetryInterval":{"value":10,"ac":200,"av":5},"fw":{"version":"1.2.3","state":"ok"},"temp":21.5}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.PatchReported("d1", patch); err != nil {
			b.Fatal(err)
		}
	}
}
