package htmlreport_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports"
	"github.com/cloudpillar/cloudpillar/reports/reportstest"
)

func TestChartsAreWellFormedSVG(t *testing.T) {
	one := reportstest.Passing()
	one.Samples = one.Samples[:1]
	tests := []struct {
		name  string
		s     *reports.Summary
		lines int // polylines expected over all charts
	}{
		{"many samples", reportstest.Passing(), 4},
		{"one sample", one, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := render(t, tc.s)
			svgs := svgElements(page)
			if len(svgs) != 3 {
				t.Fatalf("found %d <svg> elements, want 3", len(svgs))
			}
			polylines := 0
			for _, svg := range svgs {
				checkXML(t, svg)
				polylines += strings.Count(svg, "<polyline")
				if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
					t.Errorf("svg has non-finite coordinates:\n%s", svg)
				}
			}
			if polylines != tc.lines {
				t.Errorf("found %d polylines, want %d", polylines, tc.lines)
			}
		})
	}
}

// svgElements returns each <svg>...</svg> of page.
func svgElements(page string) []string {
	var out []string
	for {
		i := strings.Index(page, "<svg")
		j := strings.Index(page, "</svg>")
		if i < 0 || j < i {
			return out
		}
		out = append(out, page[i:j+len("</svg>")])
		page = page[j+len("</svg>"):]
	}
}

func checkXML(t *testing.T, doc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
	}
}
