package htmlreport_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/reports"
	"github.com/cloudpillar/cloudpillar/reports/htmlreport"
	"github.com/cloudpillar/cloudpillar/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name string
		s    *reports.Summary
	}{
		{"failing", reportstest.Failing()},
		{"passing", reportstest.Passing()},
		{"empty", &reports.Summary{Scenario: "empty", Verdict: reports.VerdictPass}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := htmlreport.Write(&buf, tc.s); err != nil {
				t.Fatalf("Write: %v", err)
			}
			golden(t, filepath.Join("testdata", tc.name+".html"), buf.Bytes())
		})
	}
}

func TestWriteShowsVerdictAndFailures(t *testing.T) {
	tests := []struct {
		name string
		s    *reports.Summary
		want []string
	}{
		{"pass badge", reportstest.Passing(), []string{`class="badge pass"`, "<p>None.</p>"}},
		{"fail badge", reportstest.Failing(), []string{
			`class="badge fail"`,
			"<li>no telemetry lost: 3 messages lost after drain</li>",
			`<td class="num bad">3</td>`,
		}},
		{"title names scenario and seed", reportstest.Passing(), []string{"<title>hospital-day (seed 42): pass"}},
		{"timeline offset", reportstest.Failing(), []string{">&#43;12.5s</td><td>partition</td><td>st-mary</td>"}},
		{"no samples", &reports.Summary{Verdict: reports.VerdictFail}, []string{"No samples recorded.", "No events."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.s)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
}

func TestWriteEscapesRunText(t *testing.T) {
	s := reportstest.Failing()
	s.Scenario = `<b>scenario</b>`
	s.Failures = []string{`<script>alert("x")</script>`}
	s.Timeline = append(s.Timeline, reports.TimelineEvent{
		At: s.StartedAt.Add(time.Second), Kind: `<img src=x onerror=alert(1)>`, Site: `"quoted"`, Detail: "a & b",
	})
	got := render(t, s)
	for _, bad := range []string{"<script>", "<b>scenario", "<img src"} {
		if strings.Contains(got, bad) {
			t.Errorf("output contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "&lt;b&gt;scenario", "&lt;img src=x", "a &amp; b"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks escaped %q", want)
		}
	}
}

func TestWriteIsSelfContained(t *testing.T) {
	got := render(t, reportstest.Failing())
	for _, external := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(got, external) {
			t.Errorf("output contains %q; the page must not load anything", external)
		}
	}
	if n := strings.Count(got, "<svg"); n != 3 {
		t.Errorf("output has %d charts, want 3", n)
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name   string
		s      *reports.Summary
		wantIs error
	}{
		{"nil summary", nil, nil},
		{"unknown verdict", &reports.Summary{Verdict: "maybe"}, reports.ErrUnknownVerdict},
		{"empty verdict", &reports.Summary{}, reports.ErrUnknownVerdict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := htmlreport.Write(&bytes.Buffer{}, tc.s)
			if err == nil {
				t.Fatal("Write = nil, want error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Write error = %v, want %v", err, tc.wantIs)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	if err := htmlreport.WriteFile(path, reportstest.Failing()); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := render(t, reportstest.Failing()); string(got) != want {
		t.Error("WriteFile wrote different bytes than Write")
	}
}

func render(t *testing.T, s *reports.Summary) string {
	t.Helper()
	var buf bytes.Buffer
	if err := htmlreport.Write(&buf, s); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.String()
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
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from output; run go test -update and review the diff\ngot:\n%s", path, got)
	}
}
