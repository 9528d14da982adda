// Package twin reconciles the device twin: it applies desired properties the
// agent understands, rejects values it cannot use, and builds the reported
// acknowledgements in the IoT Plug and Play shape
// ({"value":..,"ac":..,"av":..,"ad":..}, PROTOCOL.md §7).
//
// It is pure: no I/O, no goroutines, no clock. A Reconciler is not safe for
// concurrent use; the agent's session goroutine owns it.
package twin
