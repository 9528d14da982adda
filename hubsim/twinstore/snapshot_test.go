package twinstore

import (
	"reflect"
	"testing"
	"time"
)

// TestExportImportRoundTrip: a twin exported and imported into a fresh
// store is the same twin (versions, etag, tags, properties, $metadata),
// keeps working, and later etags are new ones.
func TestExportImportRoundTrip(t *testing.T) {
	old, c := newStore(t, "d")
	_, _, err := old.PatchDesired("d", []byte(`{"telemetry":{"interval":5,"on":true},"n":1.5,"a":[1,null,"x"]}`))
	snapOK(t, err)
	c.advance(time.Second + time.Nanosecond)
	_, err = old.PatchReported("d", []byte(`{"fw":"1.2","nested":{"x":{"y":"<z>"}}}`))
	snapOK(t, err)
	snapOK(t, old.PatchTags("d", []byte(`{"site":"s1"}`)))
	want, err := old.Get("d")
	snapOK(t, err)

	raw, etag, err := old.Export("d")
	snapOK(t, err)
	if etag != want.ETag {
		t.Errorf("Export etag = %q, want %q", etag, want.ETag)
	}
	s := New(c)
	snapOK(t, s.Import("d", raw))
	got, err := s.Get("d")
	snapOK(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("imported twin =\n%+v\nwant\n%+v", got, want)
	}
	doc1, _ := old.DeviceDoc("d")
	doc2, _ := s.DeviceDoc("d")
	if string(doc1) != string(doc2) {
		t.Errorf("DeviceDoc = %s, want %s", doc2, doc1)
	}
	v, _, err := s.PatchDesired("d", []byte(`{"n":2}`))
	snapOK(t, err)
	if v != want.Desired.Version+1 {
		t.Errorf("desired $version after import and patch = %d, want %d", v, want.Desired.Version+1)
	}
	after, _ := s.Get("d")
	if etagNumber(after.ETag) <= etagNumber(want.ETag) {
		t.Errorf("etag after import %q is not newer than %q", after.ETag, want.ETag)
	}
	if tags := s.ETags(); tags["d"] != after.ETag || len(tags) != 1 {
		t.Errorf("ETags = %v", tags)
	}
}

func TestImportRejectsGarbage(t *testing.T) {
	s := New(nil)
	if err := s.Import("d", []byte(`{"etag":`)); err == nil {
		t.Fatal("Import of truncated JSON succeeded")
	}
	if _, err := s.Get("d"); err == nil {
		t.Fatal("a failed Import left a twin behind")
	}
}

func TestChangeMarkMovesOnEveryChange(t *testing.T) {
	s := New(nil)
	marks := map[[2]uint64]string{}
	record := func(what string) {
		seq, n := s.ChangeMark()
		k := [2]uint64{seq, uint64(n)}
		if prev, ok := marks[k]; ok {
			t.Errorf("ChangeMark after %s equals the one after %s", what, prev)
		}
		marks[k] = what
	}
	record("nothing")
	snapOK(t, s.Create("d"))
	record("create")
	_, err := s.PatchReported("d", []byte(`{"a":1}`))
	snapOK(t, err)
	record("reported")
	_, err = s.Update("d", Update{Tags: []byte(`{"t":1}`)})
	snapOK(t, err)
	record("update")
	s.Delete("d")
	record("delete")
}

func snapOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
