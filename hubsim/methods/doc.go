// Package methods correlates direct-method calls with device responses
// (PROTOCOL.md §2.5, §4).
//
// A Table hands out request ids ($rid) and remembers, for each call, the
// connection it was written to: a response completes a call only when it
// arrives on that same connection with that $rid, so no other device (and
// no older connection of the same device) can answer it. Error carries IoT
// Hub's status and error code (404001 DeviceNotFound, 404103
// DeviceNotOnline, 504101 GatewayTimeout, 400004 ArgumentInvalid).
//
// The package does no I/O and starts no goroutines; the broker writes the
// requests and the hub waits for the results. A Table is safe for
// concurrent use: one mutex guards the pending calls.
package methods
