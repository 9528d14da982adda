// Package registry holds hubsim's identities: devices and modules, how each
// authenticates (SAS keys, X.509 thumbprints, CA-signed), whether it is
// enabled, its generation id, and whether it is connected.
//
// A module is an identity whose ID is `{device}/{module}` (Identity builds
// it); its device must exist.
//
// It is pure bookkeeping (no I/O, no goroutines) and safe for concurrent use:
// one mutex guards the map and the connected count.
package registry
