package twinstore

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestMetadata: every touched object and leaf gets $lastUpdated; parents of
// a deleted member are stamped, the member's metadata goes; desired also
// records $lastUpdatedVersion (§2.4).
func TestMetadata(t *testing.T) {
	s, c := newStore(t, "d1")
	steps := []string{`{"o":{"a":1,"b":2},"x":1}`, `{"o":{"a":null}}`, `{"x":{"y":true}}`}
	for _, p := range steps {
		c.advance(time.Second)
		if _, err := s.PatchReported("d1", []byte(p)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PatchDesired("d1", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	tw, err := s.Get("d1")
	if err != nil {
		t.Fatal(err)
	}
	ts := func(sec int) string {
		return t0.Add(time.Duration(sec) * time.Second).Format("2006-01-02T15:04:05.000Z")
	}
	wantReported := fmt.Sprintf(`{"$lastUpdated":%q,"o":{"$lastUpdated":%q,"b":{"$lastUpdated":%q}},"x":{"$lastUpdated":%q,"y":{"$lastUpdated":%q}}}`,
		ts(3), ts(2), ts(1), ts(3), ts(3))
	if got := mustJSON(t, tw.Reported.Metadata); got != wantReported {
		t.Errorf("reported $metadata =\n %s\nwant\n %s", got, wantReported)
	}
	wantDesired := fmt.Sprintf(`{"$lastUpdated":%q,"$lastUpdatedVersion":4,"o":{"$lastUpdated":%q,"$lastUpdatedVersion":3,"b":{"$lastUpdated":%q,"$lastUpdatedVersion":2}},"x":{"$lastUpdated":%q,"$lastUpdatedVersion":4,"y":{"$lastUpdated":%q,"$lastUpdatedVersion":4}}}`,
		ts(3), ts(2), ts(1), ts(3), ts(3))
	if got := mustJSON(t, tw.Desired.Metadata); got != wantDesired {
		t.Errorf("desired $metadata =\n %s\nwant\n %s", got, wantDesired)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTwinMarshalJSON: the service view (PROTOCOL.md §4 GET /twins/{id}).
func TestTwinMarshalJSON(t *testing.T) {
	s, _ := newStore(t, "d1")
	if _, err := s.PatchReported("d1", []byte(`{"r":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PatchTags("d1", []byte(`{"site":"a"}`)); err != nil {
		t.Fatal(err)
	}
	tw, _ := s.Get("d1")
	ts := t0.Format("2006-01-02T15:04:05.000Z")
	want := `{"deviceId":"d1","etag":"AAAAAAAAAAM=","version":3,"tags":{"site":"a"},"properties":{` +
		`"desired":{"$metadata":{"$lastUpdated":"` + ts + `","$lastUpdatedVersion":1},"$version":1},` +
		`"reported":{"r":1,"$metadata":{"$lastUpdated":"` + ts + `","r":{"$lastUpdated":"` + ts + `"}},"$version":2}}}`
	if got := mustJSON(t, tw); got != want {
		t.Errorf("json.Marshal(Twin) =\n %s\nwant\n %s", got, want)
	}
	if got := mustJSON(t, Twin{DeviceID: "x"}); got != `{"deviceId":"x","etag":"","version":0,"tags":{},"properties":{"desired":{"$metadata":null,"$version":0},"reported":{"$metadata":null,"$version":0}}}` {
		t.Errorf("zero Twin = %s", got)
	}
}

// TestConcurrentPatches runs writers and readers on shared twins; run with
// -race. Every accepted patch bumps the version exactly once.
func TestConcurrentPatches(t *testing.T) {
	const devices, writers, patches = 3, 4, 50
	s := New(nil)
	for d := range devices {
		if err := s.Create(fmt.Sprint("d", d)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		for d := range devices {
			id := fmt.Sprint("d", d)
			wg.Go(func() {
				for i := range patches {
					p := fmt.Appendf(nil, `{"w%d":{"i":%d},"shared":%d}`, w, i, i)
					if _, err := s.PatchReported(id, p); err != nil {
						t.Error(err)
					}
					if _, _, err := s.PatchDesired(id, p); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Go(func() {
		for range patches {
			for d := range devices {
				if _, err := s.DeviceDoc(fmt.Sprint("d", d)); err != nil {
					t.Error(err)
				}
				if tw, err := s.Get(fmt.Sprint("d", d)); err != nil {
					t.Error(err)
				} else if _, err := json.Marshal(tw); err != nil {
					t.Error(err)
				}
			}
		}
	})
	wg.Wait()
	for d := range devices {
		tw, _ := s.Get(fmt.Sprint("d", d))
		if tw.Reported.Version != 1+writers*patches || tw.Desired.Version != 1+writers*patches || tw.Version != 1+2*writers*patches {
			t.Errorf("d%d: reported %d, desired %d, twin %d", d, tw.Reported.Version, tw.Desired.Version, tw.Version)
		}
	}
}
