package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cloudpillar/cloudpillar/reports"
)

// runReport re-renders report.html and junit.xml from a run's summary.json,
// e.g. after the report templates improved, or for a summary copied from
// another machine.
func runReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: report: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: report takes one run directory (holding summary.json), got %d arguments", errUsage, fs.NArg())
	}
	dir := fs.Arg(0)
	sum, err := reports.ReadJSON(filepath.Join(dir, "summary.json"))
	if err != nil {
		return fmt.Errorf("%w: report: %v", errUsage, err)
	}
	if err := writeReports(dir, sum); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(dir, "report.html"))
	return nil
}
