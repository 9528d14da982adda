package reports_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports"
	"github.com/cloudpillar/cloudpillar/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// schemaKeys lists the summary.json keys of DESIGN.md §4 per object path
// ("" is the top level). They must be present in every summary, even zero.
var schemaKeys = map[string][]string{
	"":                   {"scenario", "seed", "devices", "durationSeconds", "verdict", "failures", "connect", "telemetry", "twin", "updates", "logs", "chaos", "resources"},
	"connect":            {"connected", "provisioned", "timeToAllConnectedSeconds"},
	"telemetry":          {"sent", "delivered", "lost", "duplicates"},
	"twin":               {"desiredUpdates", "acknowledged", "syncLatencyMs"},
	"twin.syncLatencyMs": {"p50", "p95", "p99"},
	"updates":            {"offered", "installed", "rejected", "rolledBack", "activationsDuringCase", "disruptiveSecondsDuringCase"},
	"logs":               {"requested", "delivered", "bytes", "integrityFailures"},
	"chaos":              {"partitions", "hubRestarts", "powerLosses", "cases"},
	"resources":          {"peakHeapBytes", "peakRSSBytes", "cpuSeconds", "goroutines"},
}

// addedKeys are the keys this package adds beyond §4; also always present.
var addedKeys = map[string][]string{
	"":          {"startedAt", "timeline", "samples"},
	"telemetry": {"messagesPerSecond"},
}

func TestSummaryJSONHasEverySchemaKey(t *testing.T) {
	tests := []struct {
		name string
		s    reports.Summary
	}{
		{"zero", reports.Summary{}},
		{"failing", *reportstest.Failing()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			for _, keys := range []map[string][]string{schemaKeys, addedKeys} {
				for path, want := range keys {
					checkKeys(t, doc, path, want)
				}
			}
		})
	}
}

func checkKeys(t *testing.T, doc map[string]any, path string, want []string) {
	t.Helper()
	obj := doc
	if path != "" {
		for _, part := range strings.Split(path, ".") {
			next, ok := obj[part].(map[string]any)
			if !ok {
				t.Errorf("%s: not an object in %v", path, obj)
				return
			}
			obj = next
		}
	}
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			t.Errorf("key %q missing from %q: have %v", k, path, sortedKeys(obj))
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestSummaryJSONListsAreNeverNull(t *testing.T) {
	data, err := json.Marshal(&reports.Summary{})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"failures", "timeline", "samples"} {
		if list, ok := doc[k].([]any); !ok || len(list) != 0 {
			t.Errorf("%s = %#v, want []", k, doc[k])
		}
	}
}

func TestSummaryJSONGolden(t *testing.T) {
	data, err := json.MarshalIndent(reportstest.Failing(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "summary.json"), append(data, '\n'))
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s differs from output; run go test -update and review the diff\ngot:\n%s", path, got)
	}
}
