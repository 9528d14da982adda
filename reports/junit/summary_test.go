package junit_test

import (
	"slices"
	"testing"

	"github.com/cloudpillar/cloudpillar/reports"
	"github.com/cloudpillar/cloudpillar/reports/junit"
	"github.com/cloudpillar/cloudpillar/reports/reportstest"
)

// outcome is a case reduced to what FromSummary decides.
type outcome struct {
	Name    string
	Failure string
}

func TestFromSummary(t *testing.T) {
	pass := []outcome{
		{junit.CaseAllConnected, ""},
		{junit.CaseNoTelemetryLost, ""},
		{junit.CaseDesiredAcked, ""},
	}
	with := func(edit func(*reports.Summary)) *reports.Summary {
		s := reportstest.Passing()
		edit(s)
		return s
	}
	tests := []struct {
		name string
		s    *reports.Summary
		want []outcome
	}{
		{"passing run", reportstest.Passing(), pass},
		{"zero run passes", &reports.Summary{Verdict: reports.VerdictPass}, pass},
		{"not all connected", with(func(s *reports.Summary) { s.Connect.Connected = 99 }), []outcome{
			{junit.CaseAllConnected, "connected 99 of 100 devices"}, pass[1], pass[2],
		}},
		{"telemetry lost", with(func(s *reports.Summary) { s.Telemetry.Lost = 2; s.Telemetry.Delivered = 11998 }), []outcome{
			pass[0], {junit.CaseNoTelemetryLost, "2 messages lost (sent 12000, delivered 11998)"}, pass[2],
		}},
		{"negative lost is a failure too", with(func(s *reports.Summary) { s.Telemetry.Lost = -1 }), []outcome{
			pass[0], {junit.CaseNoTelemetryLost, "-1 messages lost (sent 12000, delivered 12000)"}, pass[2],
		}},
		{"desired not acknowledged", with(func(s *reports.Summary) { s.Twin.Acknowledged = 299 }), []outcome{
			pass[0], pass[1], {junit.CaseDesiredAcked, "acknowledged 299 of 300 desired updates"},
		}},
		{"failing fixture", reportstest.Failing(), []outcome{
			{junit.CaseAllConnected, "connected 98 of 100 devices"},
			{junit.CaseNoTelemetryLost, "3 messages lost (sent 12000, delivered 11997)\nno telemetry lost: 3 messages lost after drain"},
			pass[2],
			{"updates: 1 activation during a patient case", "updates: 1 activation during a patient case"},
		}},
		{"covered entry fails a passing criterion", with(func(s *reports.Summary) {
			s.Verdict = reports.VerdictFail
			s.Failures = []string{"All Devices Connected: 3 reconnected too late"}
		}), []outcome{
			{junit.CaseAllConnected, "All Devices Connected: 3 reconnected too late"}, pass[1], pass[2],
		}},
		{"prefix must be a whole phrase", with(func(s *reports.Summary) {
			s.Verdict = reports.VerdictFail
			s.Failures = []string{"no telemetry lostness"}
		}), append(slices.Clone(pass), outcome{"no telemetry lostness", "no telemetry lostness"})},
		{"multi-line entry named by first line", with(func(s *reports.Summary) {
			s.Verdict = reports.VerdictFail
			s.Failures = []string{"update p99 too slow\n140 ms > 100 ms"}
		}), append(slices.Clone(pass), outcome{"update p99 too slow", "update p99 too slow\n140 ms > 100 ms"})},
		{"fail verdict without failures", with(func(s *reports.Summary) { s.Verdict = reports.VerdictFail }),
			append(slices.Clone(pass), outcome{junit.CaseVerdictConsistent, "verdict is fail but no failure was recorded"})},
		{"unknown verdict", with(func(s *reports.Summary) { s.Verdict = "maybe" }),
			append(slices.Clone(pass), outcome{junit.CaseVerdictConsistent, `unknown verdict "maybe": want "pass" or "fail"`})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			suite := junit.FromSummary(tc.s)
			var got []outcome
			for _, c := range suite.Cases {
				got = append(got, outcome{c.Name, c.Failure})
				if c.Classname != "cloudpillar."+tc.s.Scenario {
					t.Errorf("case %q classname = %q", c.Name, c.Classname)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("FromSummary cases =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestFromSummarySuite(t *testing.T) {
	s := reportstest.Failing()
	suite := junit.FromSummary(s)
	if suite.Name != s.Scenario || suite.Time != s.DurationSeconds {
		t.Errorf("suite name, time = %q, %v; want %q, %v", suite.Name, suite.Time, s.Scenario, s.DurationSeconds)
	}
	want := []junit.Property{
		{Name: "scenario", Value: "hospital-day"},
		{Name: "seed", Value: "42"},
		{Name: "devices", Value: "100"},
		{Name: "verdict", Value: "fail"},
		{Name: "startedAt", Value: "2025-03-14T09:26:53.000Z"},
	}
	if !slices.Equal(suite.Properties, want) {
		t.Errorf("properties = %v, want %v", suite.Properties, want)
	}
}
