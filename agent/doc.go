// Package agent is Cloud Pillar's production device agent: it runs beside a
// medical device (a CARTO 3 mapping system, say), keeps a session with Azure
// IoT Hub, keeps the device twin in sync and sends telemetry.
//
// Architecture. Agent wires the subsystems and supervises them; each lives
// in its own package:
//
//	agent/hub        the hub session (the only importer of the iothub SDK)
//	agent/outbox     durable store-and-forward on bbolt (the only importer of bbolt)
//	agent/twin       desired/reported reconciliation with typed property handlers (pure)
//	agent/telemetry  samples, message ids, host metrics
//	agent/model      the DTDL model the agent announces and is checked against
//	agent/backoff    jittered reconnect delays (pure)
//	agent/device     the seam to the host medical device (hostlink on hardware)
//
// Run owns two goroutines: a producer that samples telemetry every interval
// into the outbox (connected or not; heartbeat-only while a patient case is
// live or unknown), and the connection loop that dials the hub, reconciles
// the twin after every (re)connect, sends pending reported state, drains the
// outbox (alerts first) and applies desired patches, redialling with
// full-jitter backoff when the connection is lost (with floors after
// throttling or a refused identity). Every message is committed to the
// outbox before it is sent and deleted only after the hub's PUBACK, so what
// the agent accepted is delivered at least once across partitions, restarts
// and power loss; ids are stable, so duplicates are countable.
//
// Direct methods: reboot, uploadLogs (with log delivery) and applyUpdate
// (with updates). The disruptive ones ask the patient-first guard first and
// answer 202 {"status":"deferred","reason","retryAt"} while it holds them;
// applyUpdate adds "runsAfter", since its deployment goes on by itself.
// With AuditLogPath, the guard's, the update manager's and these methods'
// decisions go to one append-only JSON-lines audit log, which log delivery
// ships as the source "audit".
//
// Lifecycle: New (opens the store, no goroutines), Run(ctx) until ctx ends,
// then Close (releases the store). The agent never imports the harness
// (hubsim, devsim, chaos, scenarios, features, reports, cloud); a test in
// the repository root enforces it. Agent methods other than Run and Close
// are safe for concurrent use.
package agent
