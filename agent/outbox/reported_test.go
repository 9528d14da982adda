package outbox

import (
	"encoding/json"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// jsonOf renders v for comparison; map keys come out sorted.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return string(b)
}

func TestReportedPatchesCoalesce(t *testing.T) {
	tests := []struct {
		name    string
		patches []map[string]any
		want    string
	}{
		{"later keys win", []map[string]any{{"a": 1, "b": 1}, {"b": 2}},
			`{"a":1,"b":2}`},
		{"objects merge key by key", []map[string]any{{"fw": map[string]any{"v": "1", "state": "idle"}}, {"fw": map[string]any{"state": "busy"}}},
			`{"fw":{"state":"busy","v":"1"}}`},
		{"a value replaces an object", []map[string]any{{"fw": map[string]any{"v": "1"}}, {"fw": "gone"}},
			`{"fw":"gone"}`},
		{"an object replaces a value", []map[string]any{{"fw": 3}, {"fw": map[string]any{"v": "2"}}},
			`{"fw":{"v":"2"}}`},
		{"null is kept: it deletes the property at the hub", []map[string]any{{"a": 1}, {"a": nil}},
			`{"a":null}`},
		{"an empty object merges to nothing new", []map[string]any{{"o": map[string]any{"k": 1}}, {"o": map[string]any{}}},
			`{"o":{"k":1}}`},
		{"typed values and big integers survive", []map[string]any{{"m": map[string]int{"x": 1}, "n": uint64(1<<63 + 1)}},
			`{"m":{"x":1},"n":9223372036854775809}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDB(t)
			s := d.store("dev-1", Limits{})
			for _, p := range tc.patches {
				if err := s.PutReported(p); err != nil {
					t.Fatalf("PutReported(%v): %v", p, err)
				}
			}
			s = reopenStore(t, d, "dev-1")
			got, gen, ok := s.PendingReported()
			if !ok || jsonOf(t, got) != tc.want || gen != uint64(len(tc.patches)) {
				t.Errorf("PendingReported = %s, %d, %v; want %s, %d, true", jsonOf(t, got), gen, ok, tc.want, len(tc.patches))
			}
		})
	}
}

func TestAckReportedKeepsWhatWasMergedLater(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	put := func(p map[string]any) {
		t.Helper()
		if err := s.PutReported(p); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() (string, uint64) {
		t.Helper()
		p, gen, ok := s.PendingReported()
		if !ok {
			return "", gen
		}
		return jsonOf(t, p), gen
	}

	put(map[string]any{"a": 1, "fw": map[string]any{"v": "1", "state": "idle"}})
	// The agent sends this patch, and another is merged while it is in flight.
	sent, gen1 := pending()
	put(map[string]any{"b": 2, "fw": map[string]any{"state": "busy"}})
	if err := s.AckReported(gen1); err != nil {
		t.Fatalf("AckReported(%d): %v", gen1, err)
	}
	got, gen2 := pending()
	if want := `{"b":2,"fw":{"state":"busy"}}`; got != want || gen2 != gen1+1 {
		t.Fatalf("sent %s; after acking it pending = %s (gen %d), want %s (gen %d)", sent, got, gen2, want, gen1+1)
	}
	if err := s.AckReported(gen2 + 1); err == nil || !strings.Contains(err.Error(), "never issued") {
		t.Errorf("AckReported(future) = %v, want a 'never issued' error", err)
	}
	if err := s.AckReported(gen2); err != nil {
		t.Fatal(err)
	}
	if got, _ := pending(); got != "" {
		t.Errorf("after acking everything pending = %s, want nothing", got)
	}
	if err := s.AckReported(gen2); err != nil {
		t.Errorf("AckReported twice = %v, want nil", err)
	}
}

func TestPutReportedRejectsWhatIsNotJSON(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	err := s.PutReported(map[string]any{"f": func() {}})
	if err == nil || !strings.Contains(err.Error(), "outbox put reported: patch is not a JSON object") {
		t.Errorf("PutReported(func) = %v, want a JSON error", err)
	}
}

func TestCorruptReportedPatchIsReplacedAndCounted(t *testing.T) {
	d := newTestDB(t)
	var logs logBuffer
	s := d.store("dev-1", Limits{}, WithLogger(logs.logger()))
	for _, garbage := range []string{`{not json`, `{"version":1,"keys":{"a":null}}`, `{"version":9,"keys":{}}`} {
		err := d.db.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("dev-1/meta")).Put(keyReported, []byte(garbage))
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := s.PendingReported(); ok {
			t.Errorf("%s: PendingReported ok, want nothing pending", garbage)
		}
		if err := s.PutReported(map[string]any{"x": 1}); err != nil {
			t.Fatalf("%s: PutReported: %v", garbage, err)
		}
		if p, _, _ := s.PendingReported(); jsonOf(t, p) != `{"x":1}` {
			t.Errorf("%s: pending = %s, want {\"x\":1}", garbage, jsonOf(t, p))
		}
	}
	if got := s.Stats().Corrupt; got != 3 {
		t.Errorf("Corrupt = %d, want 3", got)
	}
	if !strings.Contains(logs.String(), "reported patch failed to decode") {
		t.Errorf("no log line for the corrupt patch:\n%s", logs.String())
	}
}

func TestPruneReported(t *testing.T) {
	keys := map[string]*rnode{}
	mergeReported(keys, map[string]any{"o": map[string]any{"a": 1}}, 1)
	mergeReported(keys, map[string]any{"o": map[string]any{"b": 2}, "c": 3}, 2)
	pruneReported(keys, 1)
	if got := jsonOf(t, renderReported(keys)); got != `{"c":3,"o":{"b":2}}` {
		t.Errorf("after prune(1) = %s", got)
	}
	pruneReported(keys, 2)
	if len(keys) != 0 {
		t.Errorf("after prune(2) = %s, want empty", jsonOf(t, renderReported(keys)))
	}
}
