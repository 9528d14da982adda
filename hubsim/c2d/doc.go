// Package c2d is hubsim's cloud-to-device message queue (PROTOCOL.md §2.2):
// one queue per device, at most 50 messages (403004
// DeviceMaximumQueueDepthExceeded), a time to live (default 1 h, at most 2
// days), a lock per delivery (60 s; an unacknowledged message becomes
// available again when its lock expires), a maximum delivery count (10,
// then the message is dead-lettered) and feedback records (Success,
// Expired, DeliveryCountExceeded, Purged) as the message's ack mode asks.
//
// Store is the pure core: it takes `now` on every call, does no I/O and
// starts no goroutines. The hub owns the one goroutine that wakes at
// NextDeadline and calls Tick, and the broker writes the deliveries Lock
// hands out. Store is safe for concurrent use: one mutex guards it.
package c2d
