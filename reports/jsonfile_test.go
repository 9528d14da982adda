package reports_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports"
	"github.com/cloudpillar/cloudpillar/reports/reportstest"
)

func TestWriteReadJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   *reports.Summary
		want *reports.Summary
	}{
		{"failing", reportstest.Failing(), reportstest.Failing()},
		{"passing", reportstest.Passing(), reportstest.Passing()},
		{
			"nil lists come back empty",
			&reports.Summary{Verdict: reports.VerdictPass},
			&reports.Summary{
				Verdict:  reports.VerdictPass,
				Failures: []string{}, Timeline: []reports.TimelineEvent{}, Samples: []reports.Sample{},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "summary.json")
			if err := reports.WriteJSON(path, tc.in); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			got, err := reports.ReadJSON(path)
			if err != nil {
				t.Fatalf("ReadJSON: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadJSON = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestWriteJSONIsAtomicAndReadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteJSON(path, reportstest.Passing()); err != nil {
		t.Fatalf("WriteJSON over existing file: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o644 {
		t.Errorf("mode = %v, want 0644", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only summary.json (temp file left behind?)", len(entries))
	}
}

func TestWriteJSONErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		s    *reports.Summary
	}{
		{"nil summary", filepath.Join(dir, "a.json"), nil},
		{"missing directory", filepath.Join(dir, "no", "such", "a.json"), reportstest.Passing()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := reports.WriteJSON(tc.path, tc.s); err == nil {
				t.Errorf("WriteJSON(%q) = nil, want error", tc.path)
			}
		})
	}
}

func TestReadJSONRejects(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantIs  error
	}{
		{"unknown verdict", `{"verdict":"passed"}`, reports.ErrUnknownVerdict},
		{"empty verdict", `{"verdict":""}`, reports.ErrUnknownVerdict},
		{"missing verdict", `{"scenario":"x"}`, reports.ErrUnknownVerdict},
		{"uppercase verdict", `{"verdict":"PASS"}`, reports.ErrUnknownVerdict},
		{"not JSON", `{`, nil},
		{"wrong type", `{"verdict":"pass","devices":"many"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "summary.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := reports.ReadJSON(path)
			if err == nil {
				t.Fatalf("ReadJSON(%s) = %+v, want error", tc.content, s)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("ReadJSON(%s) error = %v, want %v", tc.content, err, tc.wantIs)
			}
		})
	}
}

func TestReadJSONIgnoresFieldsAddedLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.json")
	content := `{"verdict":"fail","failures":["x"],"futureField":{"a":1}}`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := reports.ReadJSON(path)
	if err != nil {
		t.Fatalf("ReadJSON: %v", err)
	}
	if s.Verdict != reports.VerdictFail || len(s.Failures) != 1 {
		t.Errorf("ReadJSON = %+v, want verdict fail with one failure", s)
	}
}

func TestReadJSONMissingFile(t *testing.T) {
	if _, err := reports.ReadJSON(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadJSON(missing) error = %v, want os.ErrNotExist", err)
	}
}
