// Package broker is hubsim's device-facing MQTT layer: mochi-mqtt hooks that
// make a generic broker behave like Azure IoT Hub (PROTOCOL.md §1-2).
//
// The hook authenticates devices by X.509 (CA-signed: the chain must verify
// against the hub's trusted CAs and the leaf CN must equal the client id),
// confines each device to its own topics, records telemetry in the event log
// before the PUBACK leaves, and answers twin requests.
//
// Security property (DESIGN.md decision 2): `$iothub/...` responses are
// written to the one connection that asked, with Client.WritePacket, never
// through broker fan-out, so device B never reads device A's twin.
//
// Hooks run on each client's read path; they do constant work per packet.
// Hook is safe for concurrent use: the connection table has its own mutex.
// It imports mochi and hubsim's own stores, nothing from the agent.
package broker
