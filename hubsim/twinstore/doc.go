// Package twinstore owns hubsim's server-side twin documents (PROTOCOL.md
// §2.3-2.4): per device, tags and the desired and reported property
// sections with their `$version` and `$metadata`, the twin `version` and
// `etag`. It applies JSON merge patches with IoT Hub's rules (null deletes,
// `$version` + 1 per accepted patch), enforces the documented limits, and
// renders the device view (twin GET body) and the service view (GET /twins).
//
// Patches are atomic: a patch that breaks a rule is rejected with an *Error
// (status 400, code 400004) naming the offending key, and the document is
// left exactly as it was.
//
// Time comes from an injected Clock. The package is pure: no I/O, no
// goroutines. A Store is safe for concurrent use: one mutex guards the map
// of documents and every document in it; patches are decoded and validated
// before the lock is taken. Values returned (Twin, byte slices) are copies
// the caller owns.
//
// It imports only the standard library.
package twinstore
