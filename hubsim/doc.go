// Package hubsim is an in-process Azure IoT Hub simulator: a device-facing
// MQTT 3.1.1 endpoint over real TLS (on the mochi-mqtt broker), a device
// registry, twins, and a record of device-to-cloud telemetry.
//
// Hub composes the parts (broker hooks, registry, twin store, event log) and
// is the Go API the harness and tests use: create devices, issue their
// certificates, push desired properties, read twins and events. Start it with
// New then Start; stop it with Close, which waits for every goroutine it
// started.
//
// Throttling is off by default; Config.Throttle (or SetThrottle) makes the
// hub enforce an IoT Hub tier's throttles and daily quota (package
// throttle) on device MQTT and the REST API, as throttle_api.go describes.
//
// hubsim may import the agent only for shared wire types; it never imports
// devsim, chaos, scenarios or features. Hub methods are safe for concurrent
// use.
package hubsim
