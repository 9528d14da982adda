package htmlreport

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"

	"github.com/cloudpillar/cloudpillar/reports"
)

//go:embed report.html.tmpl
var pageSource string

var page = template.Must(template.New("report").Parse(pageSource))

// Write renders s as a self-contained HTML page to w. It writes nothing if
// rendering fails, and returns an error wrapping reports.ErrUnknownVerdict
// if s carries no valid verdict.
func Write(w io.Writer, s *reports.Summary) error {
	if s == nil {
		return errors.New("html report: nil summary")
	}
	if err := reports.CheckVerdict(s.Verdict); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, newView(s)); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteFile renders s to path atomically (see reports.WriteAtomic).
func WriteFile(path string, s *reports.Summary) error {
	var buf bytes.Buffer
	if err := Write(&buf, s); err != nil {
		return err
	}
	return reports.WriteAtomic(path, buf.Bytes())
}

// view is what the template sees: every value already formatted.
type view struct {
	Scenario string
	Seed     int64
	Verdict  string
	Devices  string
	Duration string
	Started  string
	Failures []string
	Sections []section
	Charts   []chart
	Timeline []event
}

func newView(s *reports.Summary) view {
	return view{
		Scenario: s.Scenario,
		Seed:     s.Seed,
		Verdict:  s.Verdict,
		Devices:  count(int64(s.Devices)),
		Duration: seconds(s.DurationSeconds),
		Started:  timestamp(s.StartedAt),
		Failures: s.Failures,
		Sections: sections(s),
		Charts:   charts(s),
		Timeline: timeline(s),
	}
}
