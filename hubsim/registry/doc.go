// Package registry holds hubsim's device identities: how each device
// authenticates, whether it is enabled, and whether it is connected.
//
// It is pure bookkeeping (no I/O, no goroutines) and safe for concurrent use:
// one mutex guards the map.
package registry
