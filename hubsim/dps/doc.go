// Package dps is hubsim's Device Provisioning Service: an MQTT 3.1.1
// endpoint over real TLS, on its own mochi server and listener (separate
// from the hub's), that speaks DPS's device protocol exactly as
// PROTOCOL.md §6 describes.
//
// It holds individual enrollments and enrollment groups with X.509
// attestation (a leaf matching an individual enrollment, or chaining to a
// CA registered on a group; registration id = leaf CN) or symmetric-key
// attestation (an individual key, or a device key derived from a group
// key). It answers register requests with 202 "assigning" and a
// configurable retry-after, serves operation-status polls, throttles with
// 429 and retry-after, echoes the custom payload, and reports errors in
// DPS's JSON shape. With a "csr" in the request it issues an operational
// certificate signed by the operational issuing CA under a configurable
// policy (key types, validity); the private key never reaches DPS. On
// assignment it registers the device with the hub through Registrar, with
// reprovisioning policies (keep the twin, or reset it).
//
// Wire types and topic grammar are shared with the agent through
// agent/provision, so both sides agree on bytes. Authentication happens at
// CONNECT (a refused credential gets CONNACK "not authorized"); enrollment
// decisions (disabled, bad CSR) are answered on the response topic.
//
// Lifecycle: New (no goroutines), Start, Close(ctx). Server methods are
// safe for concurrent use; hook callbacks run on each client's read path
// and do only fast work (one certificate signature at most).
package dps
