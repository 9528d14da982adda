// Package agent is Cloud Pillar's production device agent: it runs beside a
// medical device (a CARTO 3 mapping system, say), keeps a session with Azure
// IoT Hub, keeps the device twin in sync and sends telemetry.
//
// Architecture. Agent wires the subsystems and supervises them; each lives
// in its own package:
//
//	agent/hub        the hub session (the only importer of the iothub SDK)
//	agent/twin       desired/reported reconciliation (pure)
//	agent/telemetry  message ids, samples, the queue of unacknowledged messages
//	agent/backoff    jittered reconnect delays (pure)
//	agent/device     the seam to the host medical device
//
// Run owns two goroutines: a producer that samples telemetry every interval
// into the queue (connected or not), and the connection loop that dials the
// hub, reconciles the twin after every (re)connect, drains the queue and
// applies desired patches, redialling with full-jitter backoff when the
// connection is lost. A message leaves the queue only after the hub's PUBACK,
// so what the agent accepted is delivered at least once; message ids are
// stable so duplicates are countable. The queue is in memory for now.
//
// The agent never imports the harness (hubsim, devsim, chaos, scenarios,
// features, reports, cloud); a test in the repository root enforces it.
// Agent methods other than Run are safe for concurrent use.
package agent
