package junit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudpillar/cloudpillar/reports"
)

// Names of the cases FromSummary makes from the run criteria. A judge that
// starts a Failures entry with one of these names (case-insensitive, e.g.
// "no telemetry lost: 3 messages") attaches it to that case.
const (
	CaseAllConnected      = "all devices connected"
	CaseNoTelemetryLost   = "no telemetry lost"
	CaseDesiredAcked      = "every desired change acknowledged"
	CaseVerdictConsistent = "run verdict"
)

// criterion is one check FromSummary makes from the figures.
type criterion struct {
	name  string
	check func(s *reports.Summary) string // failure message, "" if it holds
}

var criteria = []criterion{
	{CaseAllConnected, func(s *reports.Summary) string {
		if s.Connect.Connected >= s.Devices {
			return ""
		}
		return fmt.Sprintf("connected %d of %d devices", s.Connect.Connected, s.Devices)
	}},
	{CaseNoTelemetryLost, func(s *reports.Summary) string {
		t := s.Telemetry
		if t.Lost == 0 {
			return ""
		}
		return fmt.Sprintf("%d messages lost (sent %d, delivered %d)", t.Lost, t.Sent, t.Delivered)
	}},
	{CaseDesiredAcked, func(s *reports.Summary) string {
		t := s.Twin
		if t.Acknowledged == t.DesiredUpdates {
			return ""
		}
		return fmt.Sprintf("acknowledged %d of %d desired updates", t.Acknowledged, t.DesiredUpdates)
	}},
}

// FromSummary turns a run into a suite named after its scenario, one case
// per criterion:
//   - CaseAllConnected fails when connected < devices;
//   - CaseNoTelemetryLost fails when lost != 0;
//   - CaseDesiredAcked fails when acknowledged != desiredUpdates;
//
// then one failing case per Failures entry that no criterion covers, named
// by the entry's first line. An entry starting with a criterion's name is
// covered: it is added to that case's message and fails it even when the
// figures pass, so no recorded failure is lost. Finally, a CaseVerdictConsistent
// case fails if the verdict is not pass or fail, or is fail while no other
// case failed. The suite time is the run duration; the seed and the other
// identifying figures are suite properties. s must not be nil.
func FromSummary(s *reports.Summary) Suite {
	suite := Suite{Name: s.Scenario, Time: s.DurationSeconds, Properties: properties(s)}
	classname := "cloudpillar." + s.Scenario
	attached := make([][]string, len(criteria))
	var uncovered []string
	for _, f := range s.Failures {
		if i := coveringCriterion(f); i >= 0 {
			attached[i] = append(attached[i], f)
		} else {
			uncovered = append(uncovered, f)
		}
	}
	failed := false
	for i, c := range criteria {
		msgs := append([]string{c.check(s)}, attached[i]...)
		msg := strings.TrimSpace(strings.Join(msgs, "\n"))
		suite.Cases = append(suite.Cases, Case{Name: c.name, Classname: classname, Failure: msg})
		failed = failed || msg != ""
	}
	for _, f := range uncovered {
		name := firstLine(f)
		if name == "" {
			name = "unnamed failure"
		}
		suite.Cases = append(suite.Cases, Case{Name: name, Classname: classname, Failure: f})
		failed = true
	}
	if msg := verdictProblem(s.Verdict, failed); msg != "" {
		suite.Cases = append(suite.Cases, Case{Name: CaseVerdictConsistent, Classname: classname, Failure: msg})
	}
	return suite
}

// coveringCriterion returns the index of the criterion whose name starts
// failure as a whole phrase, or -1.
func coveringCriterion(failure string) int {
	f := strings.ToLower(strings.TrimSpace(failure))
	for i, c := range criteria {
		rest, ok := strings.CutPrefix(f, c.name)
		if ok && (rest == "" || !isWordRune(rest[0])) {
			return i
		}
	}
	return -1
}

func isWordRune(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z'
}

// verdictProblem explains a verdict that the cases do not support, or "".
func verdictProblem(verdict string, anyFailed bool) string {
	if err := reports.CheckVerdict(verdict); err != nil {
		return err.Error()
	}
	if verdict == reports.VerdictFail && !anyFailed {
		return "verdict is fail but no failure was recorded"
	}
	return ""
}

func properties(s *reports.Summary) []Property {
	started := ""
	if !s.StartedAt.IsZero() {
		started = s.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	return []Property{
		{"scenario", s.Scenario},
		{"seed", strconv.FormatInt(s.Seed, 10)},
		{"devices", strconv.Itoa(s.Devices)},
		{"verdict", s.Verdict},
		{"startedAt", started},
	}
}
