// Package backoff computes reconnect delays: exponential growth with full
// jitter and a cap (DESIGN.md decision 14), so a fleet dropped together does
// not retry in lock-step.
//
// It is pure policy: randomness is injected and there is no sleeping here;
// the caller waits. A Backoff is not safe for concurrent use; it belongs to
// the one goroutine that owns a reconnect loop.
package backoff
