// Package broker is hubsim's device-facing MQTT layer: mochi-mqtt hooks that
// make a generic broker behave like Azure IoT Hub (PROTOCOL.md §1-2).
//
// The hook authenticates devices and modules (SAS tokens signed with a
// device key or a DeviceConnect policy, X.509 self-signed by thumbprint,
// X.509 CA-signed with CN = device id), refuses disabled ones with a
// configurable CONNACK code, and disconnects a connection whose SAS token
// expires. It confines each identity to its own topics: a QoS 2 publish, an
// oversize message, a topic outside the documented set or another
// device's topic closes the connection; more than five distinct
// subscription filters are refused. It records telemetry (with the
// properties the hub stamps) in the event log before the PUBACK leaves,
// records will messages as telemetry, answers twin requests, writes
// direct-method requests and correlates their responses, and delivers
// cloud-to-device messages with QoS 1, completing them on PUBACK. With a
// throttle.Limiter (an IoT Hub tier) it refuses connects over the rate with
// CONNACK 0x03, answers twin requests over their rate with 429 (403002
// over the daily quota), holds telemetry over the D2C rate before its
// PUBACK (traffic shaping) and closes the connection of a device whose
// telemetry is refused (throttle.go). WebSocket serves the same MQTT over
// WebSockets for the HTTPS server to mount at /$iothub/websocket.
//
// Security property (DESIGN.md decision 2): `$iothub/...` responses and
// requests are written to the one connection concerned, with
// Client.WritePacket, never through broker fan-out, so device B never reads
// device A's twin, method calls or C2D.
//
// Hooks run on each client's read path; they do constant work per packet
// (a map lookup, a topic parse). The connection table is a sync.Map read
// without locks; connect and disconnect serialise on one mutex so the
// registry's connection state follows takeovers exactly. Lock order: Hook.mu,
// then conn.mu, then the stores' own mutexes (the limiter's among them).
// Held telemetry is released by one timer per connection, stopped with the
// connection. It imports mochi and hubsim's own packages, nothing from the
// agent.
package broker
