// Package hub is the agent's session with Azure IoT Hub (or hubsim): one
// MQTT-over-TLS connection made with the iothub SDK (iotdevice + its MQTT
// transport), X.509 authenticated. It is the only package in the agent that
// imports the SDK.
//
// A Session is one connection. It never reconnects by itself (paho's
// auto-reconnect is off); when the connection is lost, Done is closed and
// the owner (the agent's run loop) decides when to dial again, with jitter.
// The network is a seam: Config.Dial opens the raw connection (TCP by
// default, a chaos wrapper or an in-memory network in the harness) and the
// session runs TLS over it.
//
// Session methods are safe for concurrent use. Desired-property patches are
// delivered to the callback on the SDK's goroutine; the callback must not
// block.
package hub
