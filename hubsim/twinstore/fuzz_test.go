package twinstore

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzPatchReported: PatchReported never panics; an accepted patch leaves a
// doc that parses as JSON with reported $version + 1 and a service view that
// marshals; a rejected patch is a 400 *Error and changes nothing.
func FuzzPatchReported(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"keep":null}`, `{"keep":{"x":null,"y":[1,{"z":"w"}]}}`, `[]`, `null`, ` `,
		`{"a.b":1}`, `{"n":4503599627370496}`, `{"f":1e999}`, nest(11), `{"a":1}{`, `{"s":"\ud800"}`,
		`{"telemetryInterval":{"value":10,"ac":200,"av":5},"fw":null,"ünï":"ok"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, patch []byte) {
		s, _ := newStore(t, "d1")
		if _, err := s.PatchReported("d1", []byte(`{"keep":{"x":1},"list":[1,"a"]}`)); err != nil {
			t.Fatal(err)
		}
		before := deviceDocString(t, s, "d1")
		tw0, _ := s.Get("d1")
		v, err := s.PatchReported("d1", patch)
		if err != nil {
			checkRejected(t, s, err, before, tw0)
			return
		}
		if v != tw0.Reported.Version+1 {
			t.Fatalf("version %d after %d", v, tw0.Reported.Version)
		}
		var doc struct {
			Reported map[string]any `json:"reported"`
		}
		if err := json.Unmarshal([]byte(deviceDocString(t, s, "d1")), &doc); err != nil {
			t.Fatalf("doc does not parse: %v", err)
		}
		if got, ok := doc.Reported["$version"].(float64); !ok || int(got) != v {
			t.Fatalf("doc $version = %v, want %d", doc.Reported["$version"], v)
		}
		tw, _ := s.Get("d1")
		if _, err := json.Marshal(tw); err != nil {
			t.Fatalf("service view: %v", err)
		}
	})
}

func checkRejected(t *testing.T, s *Store, err error, before string, tw0 Twin) {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) || te.Status != 400 || te.Message == "" {
		t.Fatalf("error %v, want a 400 *Error", err)
	}
	if after := deviceDocString(t, s, "d1"); after != before {
		t.Fatalf("rejected patch changed the doc:\n%s\n%s", before, after)
	}
	if tw, _ := s.Get("d1"); tw.ETag != tw0.ETag || tw.Version != tw0.Version {
		t.Fatal("rejected patch changed etag or version")
	}
}
