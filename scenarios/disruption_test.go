package scenarios

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/devsim/carto"
)

// TestDisruptionCountsWorkDuringCases checks how the judge measures the
// patient-first floor in a fleet: activations that begin in a case, and
// work-seconds overlapping one, pausable work excused for its first
// second (DESIGN.md decision 6).
func TestDisruptionCountsWorkDuringCases(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	span := func(k carto.WorkKind, from, to float64) carto.Span {
		return carto.Span{Kind: k, Start: at(from), End: at(to)}
	}
	cases := []interval{{start: at(10), end: at(20)}}
	tests := []struct {
		name        string
		work        []carto.Span
		cases       []interval
		activations int64
		seconds     float64
	}{
		{"no cases", []carto.Span{span(carto.WorkActivate, 1, 2)}, nil, 0, 0},
		{"work before and after", []carto.Span{span(carto.WorkDownload, 1, 9), span(carto.WorkActivate, 21, 22)}, cases, 0, 0},
		{"download paused within the allowance", []carto.Span{span(carto.WorkDownload, 5, 10.8)}, cases, 0, 0},
		{"download paused late", []carto.Span{span(carto.WorkDownload, 5, 12.5)}, cases, 0, 1.5},
		{"install started in a case", []carto.Span{span(carto.WorkInstall, 15, 16)}, cases, 0, 1},
		{"activation in a case", []carto.Span{span(carto.WorkActivate, 12, 12.5)}, cases, 1, 0.5},
		{"activation running when the case began", []carto.Span{span(carto.WorkActivate, 9.5, 10.25)}, cases, 0, 0.25},
		{"open case ends now", []carto.Span{span(carto.WorkCommit, 25, 27)}, []interval{{start: at(24)}}, 0, 1},
		{"two cases", []carto.Span{span(carto.WorkActivate, 12, 13), span(carto.WorkActivate, 31, 32)},
			[]interval{{start: at(10), end: at(20)}, {start: at(30), end: at(40)}}, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, s := disruption(tc.work, tc.cases, at(26))
			if a != tc.activations || s != tc.seconds {
				t.Errorf("disruption = %d activations, %v s; want %d, %v", a, s, tc.activations, tc.seconds)
			}
		})
	}
}

// TestUpdateEventValidation rejects impossible rollouts, naming the field.
func TestUpdateEventValidation(t *testing.T) {
	base := "name: u\ndevices: 2\nduration: 10s\nevents:\n  - at: 1s\n"
	tests := []struct{ name, event, want string }{
		{"share", "    update: {share: 0, version: \"1\"}\n", "update.share"},
		{"version", "    update: {share: 0.5}\n", "update.version"},
		{"two kinds", "    update: {share: 0.5, version: \"1\"}\n    cases: {share: 0.5}\n    for: 1s\n", "one thing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("u.yaml", []byte(base+tc.event))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if _, err := Parse("u.yaml", []byte(base+"    update: {share: 0.5, version: \"7.3.0\"}\n")); err != nil {
		t.Fatalf("valid rollout: %v", err)
	}
}

// TestScaleSpeedsUpTheAgentsClock keeps the quiet period's share of a run
// when --duration shortens it; real time stays real.
func TestScaleSpeedsUpTheAgentsClock(t *testing.T) {
	for _, tc := range []struct{ scale, want float64 }{{6, 90}, {0, 0}} {
		sc, err := Parse("s.yaml", []byte("devices: 2\nduration: 60s\ntimeScale: "+strconv.FormatFloat(tc.scale, 'f', -1, 64)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		sc.Scale(4 * time.Second)
		if sc.TimeScale != tc.want {
			t.Errorf("timeScale %v scaled to 4s of 60s = %v, want %v", tc.scale, sc.TimeScale, tc.want)
		}
	}
}
