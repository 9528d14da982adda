package junit_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports/junit"
	"github.com/cloudpillar/cloudpillar/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// mixed exercises every case state, escaping and timing rules.
var mixed = []junit.Suite{
	{
		Name: "unit",
		Cases: []junit.Case{
			{Name: "passes", Classname: "pkg.a", Time: 0.25},
			{Name: "fails", Classname: "pkg.a", Time: 1.5, Failure: "want 1\ngot 2"},
			{Name: "skipped", Time: 0.001, Skipped: "needs hardware"},
			{Name: "failure wins over skip", Failure: "boom", Skipped: "ignored"},
			{Name: `escape <&"'>`, Failure: "<script>alert(1)</script> & \x00 \"q\""},
		},
	},
	{Name: "timed suite", Time: 42, Properties: []junit.Property{{Name: "seed", Value: "7"}}},
}

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name   string
		suites []junit.Suite
	}{
		{"failing", []junit.Suite{junit.FromSummary(reportstest.Failing())}},
		{"passing", []junit.Suite{junit.FromSummary(reportstest.Passing())}},
		{"mixed", mixed},
		{"none", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := junit.Write(&buf, tc.suites...); err != nil {
				t.Fatalf("Write: %v", err)
			}
			golden(t, filepath.Join("testdata", tc.name+".xml"), buf.Bytes())
		})
	}
}

// Decoding shapes, independent of the package's own.
type testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Suites   []testsuite `xml:"testsuite"`
}

type testsuite struct {
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Cases    []testcase `xml:"testcase"`
}

type testcase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

func TestWriteIsWellFormedAndCounts(t *testing.T) {
	var buf bytes.Buffer
	if err := junit.Write(&buf, mixed...); err != nil {
		t.Fatalf("Write: %v", err)
	}
	var got testsuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not well-formed XML: %v\n%s", err, buf.Bytes())
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"total tests", got.Tests, 5},
		{"total failures", got.Failures, 3},
		{"total skipped", got.Skipped, 1},
		{"total time", got.Time, "43.751"},
		{"suites", len(got.Suites), 2},
		{"unit time is sum of cases", got.Suites[0].Time, "1.751"},
		{"explicit suite time", got.Suites[1].Time, "42.000"},
		{"default classname", got.Suites[0].Cases[2].Classname, "unit"},
		{"failure message is first line", got.Suites[0].Cases[1].Failure.Message, "want 1"},
		{"failure text is whole", got.Suites[0].Cases[1].Failure.Text, "want 1\ngot 2"},
		{"failure wins over skip", got.Suites[0].Cases[3].Skipped == nil, true},
		{"escaped name round-trips", got.Suites[0].Cases[4].Name, `escape <&"'>`},
		{"script text round-trips", strings.HasPrefix(got.Suites[0].Cases[4].Failure.Text, "<script>"), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if strings.Contains(buf.String(), "<script>") {
		t.Error("raw <script> in XML output")
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := junit.WriteFile(path, mixed...); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := junit.Write(&want, mixed...); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("WriteFile wrote different bytes than Write")
	}
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
