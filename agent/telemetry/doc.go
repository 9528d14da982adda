// Package telemetry builds the agent's device-to-cloud messages and holds
// them until the hub has acknowledged them.
//
// Every message gets a stable id "<deviceId>-<boot>-<seq>" so the receiving
// side can count loss and duplicates exactly. The Queue is in memory for now
// (durable store-and-forward is agent/outbox's job, a later step): a message
// leaves it only after the hub's PUBACK.
//
// Queue is safe for concurrent use (one mutex); Sampler is pure.
package telemetry
