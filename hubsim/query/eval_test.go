package query

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fleet is three twin documents in the service shape twinstore renders,
// decoded with json.Number as the hub decodes them.
const fleet = `[
{"deviceId":"dev-1","status":"enabled","connectionState":"Connected","etag":"AAAAAAAAAAE=","version":3,
 "tags":{"location":{"region":"US","site":"boston"},"ward":"icu","n":2},
 "properties":{"desired":{"interval":30,"$version":2},"reported":{"fw":"1.2.0","cases":4,"ok":true,"arr":[1,2],"$version":5}}},
{"deviceId":"dev-2","status":"disabled","connectionState":"Disconnected","etag":"AAAAAAAAAAI=","version":1,
 "tags":{"location":{"region":"EU"},"n":3.5},
 "properties":{"desired":{"$version":1},"reported":{"fw":"1.1.0","cases":0,"ok":false,"$version":1}}},
{"deviceId":"dev-3","status":"enabled","connectionState":"Disconnected","etag":"AAAAAAAAAAM=","version":2,
 "tags":{"location":{"region":"US"}},
 "properties":{"desired":{"interval":60,"$version":3},"reported":{"fw":"1.2.0","$version":2}}}
]`

func docs(t testing.TB) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(fleet))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMatch: WHERE selects documents with IoT Hub's three-valued logic.
func TestMatch(t *testing.T) {
	tests := []struct {
		where string
		want  string // matching device ids, comma-separated
	}{
		{"deviceId = 'dev-2'", "dev-2"},
		{"status = 'enabled'", "dev-1,dev-3"},
		{"connectionState = 'Connected'", "dev-1"},
		{"tags.location.region = 'US'", "dev-1,dev-3"},
		{"tags.location.region != 'US'", "dev-2"},
		{"tags.location.region <> 'US'", "dev-2"},
		{"tags.ward != 'icu'", ""}, // missing on dev-2/3: undefined, not true
		{"NOT tags.ward = 'icu'", ""},
		{"NOT IS_DEFINED(tags.ward)", "dev-2,dev-3"},
		{"IS_DEFINED(tags.location.site)", "dev-1"},
		{"IS_DEFINED(tags.location)", "dev-1,dev-2,dev-3"},
		{"properties.reported.cases > 0", "dev-1"},
		{"properties.reported.cases >= 0", "dev-1,dev-2"},
		{"properties.reported.cases < 4", "dev-2"},
		{"properties.reported.cases <= 4", "dev-1,dev-2"},
		{"tags.n > 2", "dev-2"},
		{"tags.n = 2.0", "dev-1"},
		{"properties.desired.interval = 30 OR properties.desired.interval = 60", "dev-1,dev-3"},
		{"properties.reported.fw = '1.2.0' AND status = 'enabled'", "dev-1,dev-3"},
		{"(properties.reported.fw = '1.2.0' OR status = 'disabled') AND NOT deviceId = 'dev-3'", "dev-1,dev-2"},
		{"properties.reported.fw > '1.1.9'", "dev-1,dev-3"}, // strings order by code point
		{"properties.reported.ok = true", "dev-1"},
		{"properties.reported.ok != true", "dev-2"},
		{"properties.reported.ok > false", ""},   // booleans are not ordered
		{"properties.reported.cases = '4'", ""},  // different types do not compare
		{"properties.reported.cases != '4'", ""}, // ... not even for !=
		{"tags.location = 'US'", ""},             // objects do not compare
		{"properties.reported.arr = 1", ""},      // nor arrays
		{"deviceId IN ['dev-1', 'dev-3', 7]", "dev-1,dev-3"},
		{"deviceId NIN ['dev-1', 'dev-3']", "dev-2"},
		{"tags.ward NIN ['x']", "dev-1"}, // undefined operand stays undefined
		{"tags.n IN [3.5]", "dev-2"},
		{"properties.reported.$version = 5", "dev-1"},
		{"properties.desired.interval = null", ""},
		{"tags.ward = 'icu' OR tags.nothing = 1", "dev-1"},        // true OR undefined is true
		{"tags.ward = 'icu' AND tags.nothing = 1", ""},            // true AND undefined is undefined
		{"tags.ward = 'x' AND tags.nothing = 1", ""},              // false AND undefined is false ...
		{"NOT (tags.n = 99 AND tags.nothing = 1)", "dev-1,dev-2"}, // ... so NOT makes it true where tags.n exists
		{"'dev-1' = deviceId", "dev-1"},
		{"1 = 1", "dev-1,dev-2,dev-3"},
	}
	all := docs(t)
	for _, tc := range tests {
		q, err := Parse("SELECT * FROM devices WHERE " + tc.where)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.where, err)
			continue
		}
		var ids []string
		for _, d := range q.Run(all) {
			ids = append(ids, d["deviceId"].(string))
		}
		if got := strings.Join(ids, ","); got != tc.want {
			t.Errorf("WHERE %s matched %q, want %q", tc.where, got, tc.want)
		}
	}
}

// TestRun: projections, TOP, aggregates and GROUP BY (PROTOCOL.md §4).
func TestRun(t *testing.T) {
	tests := []struct{ query, want string }{
		{"SELECT TOP 2 deviceId FROM devices", `[{"deviceId":"dev-1"},{"deviceId":"dev-2"}]`},
		{"SELECT deviceId, tags.ward, properties.reported.fw AS firmware FROM devices WHERE deviceId != 'dev-3'",
			`[{"deviceId":"dev-1","firmware":"1.2.0","ward":"icu"},{"deviceId":"dev-2","firmware":"1.1.0"}]`},
		{"SELECT tags.location FROM devices WHERE deviceId = 'dev-2'", `[{"location":{"region":"EU"}}]`},
		{"SELECT COUNT() FROM devices", `[{"$1":3}]`},
		{"SELECT COUNT() AS n FROM devices WHERE status = 'nope'", `[{"n":0}]`},
		{"SELECT COUNT(), SUM(tags.n), AVG(tags.n), MIN(tags.n), MAX(tags.n) FROM devices",
			`[{"$1":3,"$2":5.5,"$3":2.75,"$4":2,"$5":3.5}]`},
		{"SELECT SUM(tags.ward) AS s, COUNT() AS c FROM devices", `[{"c":3}]`},
		{"SELECT properties.reported.fw AS fw, COUNT() AS numberOfDevices FROM devices GROUP BY properties.reported.fw",
			`[{"fw":"1.2.0","numberOfDevices":2},{"fw":"1.1.0","numberOfDevices":1}]`},
		{"SELECT tags.ward, COUNT() AS n FROM devices GROUP BY tags.ward",
			`[{"n":1,"ward":"icu"},{"n":2}]`},
		{"SELECT TOP 1 status, COUNT() AS n FROM devices GROUP BY status", `[{"n":2,"status":"enabled"}]`},
		{"SELECT COUNT() AS n FROM devices GROUP BY tags.location", `[{"n":1},{"n":1},{"n":1}]`},
	}
	all := docs(t)
	for _, tc := range tests {
		q, err := Parse(tc.query)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.query, err)
			continue
		}
		if got := jsonOf(t, q.Run(all)); got != tc.want {
			t.Errorf("%s\n  = %s\n want %s", tc.query, got, tc.want)
		}
	}
}

// TestRunStarReturnsDocuments: SELECT * gives the documents themselves.
func TestRunStarReturnsDocuments(t *testing.T) {
	all := docs(t)
	q, err := Parse("SELECT * FROM devices WHERE deviceId = 'dev-3'")
	if err != nil {
		t.Fatal(err)
	}
	got := q.Run(all)
	if len(got) != 1 || !reflect.DeepEqual(got[0], all[2]) {
		t.Fatalf("Run = %v, want [dev-3's document]", got)
	}
	if q.Aggregated() {
		t.Fatal("SELECT * reports Aggregated")
	}
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}
