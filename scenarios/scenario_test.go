package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultScenarioIsValidAndExercisesPartitionAndDesired(t *testing.T) {
	sc, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var partitions, desired int
	for _, e := range sc.Events {
		if e.Partition != "" {
			partitions++
		}
		if e.Desired != nil {
			desired++
		}
	}
	if sc.Devices < 100 || partitions == 0 || desired == 0 {
		t.Fatalf("default scenario: %d devices, %d partitions, %d desired changes", sc.Devices, partitions, desired)
	}
}

func TestMalformedScenarioErrorNamesTheField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "devices: 3\ndevcies: 4\nduration: 10s\n", "devcies"},
		{"bad duration", "devices: 3\nduration: ten\n", `"ten" is not a duration`},
		{"no devices", "duration: 10s\n", "devices: must be at least 1"},
		{"too many sites", "devices: 2\nsites: 3\nduration: 10s\n", "sites:"},
		{"event after the end", "devices: 2\nduration: 10s\nevents:\n  - at: 11s\n    desired: {a: 1}\n", "events[0].at"},
		{"unknown site", "devices: 2\nduration: 10s\nevents:\n  - at: 1s\n    partition: site-09\n    for: 1s\n", `events[0].partition: unknown site "site-09"`},
		{"partition without length", "devices: 2\nduration: 10s\nevents:\n  - at: 1s\n    partition: site-01\n", "events[0].for"},
		{"empty event", "devices: 2\nduration: 10s\nevents:\n  - at: 1s\n", "needs partition, desired, cases, update, logs or hubRestart"},
		{"two actions", "devices: 2\nduration: 10s\nevents:\n  - at: 1s\n    partition: site-01\n    for: 1s\n    desired: {a: 1}\n", "does one thing"},
		{"cases without share", "devices: 2\nduration: 10s\nevents:\n  - at: 1s\n    cases: {share: 0}\n    for: 2s\n", "events[0].cases.share"},
		{"cases without length", "devices: 2\nduration: 10s\nevents:\n  - at: 1s\n    cases: {share: 0.5}\n", "events[0].for"},
		{"backoff cap below base", "devices: 2\nduration: 10s\nbackoff: {base: 2s, cap: 1s}\n", "backoff.cap"},
		{"not yaml", "devices: [\n", "scenario bad.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.yaml))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

func TestScaleKeepsTheScenarioShape(t *testing.T) {
	sc, _ := Parse("s.yaml", []byte("devices: 2\nduration: 60s\nstagger: 6s\nevents:\n  - at: 30s\n    partition: site-01\n    for: 12s\n"))
	sc.Scale(20 * time.Second)
	e := sc.Events[0]
	if sc.Duration.D() != 20*time.Second || e.At.D() != 10*time.Second || e.For.D() != 4*time.Second || sc.Stagger.D() != 2*time.Second {
		t.Fatalf("scaled: duration %v at %v for %v stagger %v", sc.Duration.D(), e.At.D(), e.For.D(), sc.Stagger.D())
	}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
}
