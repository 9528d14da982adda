package main

import "time"

// telemetryIntervalOverride, set only at link time
// (-ldflags "-X main.telemetryIntervalOverride=100ms"), replaces the
// configured telemetry interval, below the 1 s floor that the config file
// and the twin keep. BenchmarkAgentFootprint builds a binary with it to
// measure the shipped code at 10 messages a second; a release build leaves
// it empty, and then it changes nothing.
var telemetryIntervalOverride string

// applyLinkFlags applies the link-time overrides to a loaded config.
func applyLinkFlags(cfg *config) {
	if d, err := time.ParseDuration(telemetryIntervalOverride); err == nil && d > 0 {
		cfg.TelemetryInterval = d
	}
}
