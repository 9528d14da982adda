// Package eventlog is hubsim's ordered record of device-to-cloud telemetry:
// every message the hub accepted (and acknowledged with PUBACK), with its
// device id, message id, properties and enqueued time. It is the source of
// the delivered, lost and duplicate counts in a run's summary.
//
// A Log is safe for concurrent use: one mutex guards the record. Appending
// happens on the publishing client's read path, so it stays O(1).
package eventlog
