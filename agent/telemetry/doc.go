// Package telemetry builds the agent's device-to-cloud messages: samples
// with stable ids "<deviceId>-<boot>-<seq>" (so the receiving side counts
// loss and duplicates exactly), the device's metrics and, on real hardware,
// the host's (CPU, memory, disk, uptime, network through gopsutil).
//
// Holding messages until the hub acknowledges them is agent/outbox's job.
// Build and MessageID are pure; HostSampler is safe for concurrent use.
package telemetry
