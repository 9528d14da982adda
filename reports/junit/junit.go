package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cloudpillar/cloudpillar/reports"
)

// Suite is one <testsuite>.
type Suite struct {
	Name  string
	Cases []Case
	// Time is the suite's duration in seconds; 0 means the sum of its cases.
	Time float64
	// Properties are written as <properties>, in order (seed, scenario...).
	Properties []Property
}

// Case is one <testcase>.
type Case struct {
	Name string
	// Classname groups cases in CI views; empty means the suite's name.
	Classname string
	// Time is the case's duration in seconds.
	Time float64
	// Failure is why the case failed; empty means it passed. A failed case
	// is reported as failed even if Skipped is set.
	Failure string
	// Skipped is why the case was skipped; empty means it ran.
	Skipped string
}

// Property is one <property> of a suite.
type Property struct {
	Name, Value string
}

// Write writes suites as one indented JUnit XML document with an XML
// header. It writes nothing if encoding fails.
func Write(w io.Writer, suites ...Suite) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(document(suites)); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteFile writes suites to path atomically (see reports.WriteAtomic).
func WriteFile(path string, suites ...Suite) error {
	var buf bytes.Buffer
	if err := Write(&buf, suites...); err != nil {
		return err
	}
	return reports.WriteAtomic(path, buf.Bytes())
}

// seconds formats a duration attribute the way JUnit readers expect.
func seconds(f float64) string {
	return strconv.FormatFloat(max(f, 0), 'f', 3, 64)
}

// firstLine returns the first line of s, for message attributes.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}
