package main

import (
	"testing"
	"time"
)

// TestTelemetryIntervalOverrideOnlyWhenLinkedIn: a release build (no
// -X main.telemetryIntervalOverride) keeps the configured interval; a
// build linked with one, or with a value that is not a positive duration,
// behaves as documented in linkflags.go.
func TestTelemetryIntervalOverrideOnlyWhenLinkedIn(t *testing.T) {
	defer func(v string) { telemetryIntervalOverride = v }(telemetryIntervalOverride)
	for _, tc := range []struct {
		linked string
		want   time.Duration
	}{{"", 5 * time.Second}, {"100ms", 100 * time.Millisecond}, {"fast", 5 * time.Second}, {"-1s", 5 * time.Second}} {
		telemetryIntervalOverride = tc.linked
		cfg := &config{TelemetryInterval: 5 * time.Second}
		applyLinkFlags(cfg)
		if cfg.TelemetryInterval != tc.want {
			t.Errorf("linked %q: interval %v, want %v", tc.linked, cfg.TelemetryInterval, tc.want)
		}
	}
}
