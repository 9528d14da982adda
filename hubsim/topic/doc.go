// Package topic owns the IoT Hub MQTT topic grammar as the device side sees
// it (PROTOCOL.md §1.2, §2, §11): it parses the topic names devices publish
// and the CONNECT user name, formats the names the hub publishes, and decides
// which names and filters a connection may use.
//
// Identities: functions that take an identity accept the MQTT client ID, that
// is `{deviceId}` for a device and `{deviceId}/{moduleId}` for a module.
// Device and module IDs are taken from topics as they appear, never
// percent-decoded (IoT Hub IDs cannot contain `/`, and MQTT forbids `+` and
// `#` in topic names).
//
// Property bags (the `{bag}` after messages/events/ or devicebound/) are
// decoded like JavaScript's decodeURIComponent: `%XX` is decoded, a `+` stays
// a literal plus, and a malformed escape is kept as written. Every SDK we
// know encodes a space as `%20` and a plus as `%2B` (Node, C, Python, and
// amenzhinsky for devices); the one sender of a raw `+` (amenzhinsky's module
// transport, via url.Values.Encode) cannot reach the hub anyway, because MQTT
// forbids wildcards in topic names [MQTT-4.7.1-1] and mochi rejects them. The
// same lenient decoding is used for the CONNECT user name, whose query is
// split by hand on `&` and the first `=` because Node sends model-id raw
// (`dtmi:com:example:Thermostat;1`), which url.ParseQuery rejects.
//
// `$rid` values are kept exactly as received so they can be echoed back.
//
// The package is pure: no I/O, no goroutines, no global state. Every
// function is safe for concurrent use and does not panic on any input.
// Parse allocates only for a decoded property bag and for errors; the access
// checks (FilterAllowed, PublishAllowed, Delivery) do not allocate.
package topic
