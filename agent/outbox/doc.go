// Package outbox is the agent's durable store-and-forward on bbolt: every
// item the agent must deliver is committed to disk before anything is sent,
// and deleted only after the hub acknowledged it (DESIGN.md decision 5,
// "nothing lost, ever").
//
// It owns four kinds of state, all under one bucket prefix so that many
// agents can share one database file (DESIGN.md decision 13):
//
//   - queued items (ClassAlert, ClassTelemetry), ordered by a per-store
//     sequence number that survives restarts; Next returns alerts first;
//   - the pending reported-properties patch (ClassReported), coalesced into
//     one patch and never evicted;
//   - opaque upload-session records (ClassUpload), kept until deleted;
//   - counters: the boot counter, the sequence, evictions and records that
//     failed to decode.
//
// It is the only agent package that imports go.etcd.io/bbolt; it imports
// nothing else outside the standard library.
//
// Delivery is at-least-once: Next does not remove items, so an item whose
// Ack was lost (crash, dropped connection) is returned again after a
// restart, with the same ID and Seq. Put commits (fsyncs) before it
// returns; PutMany commits a batch in one transaction, which is much
// cheaper per item because the fsync dominates.
//
// Eviction rule: the store holds at most Limits.MaxItems queued items and
// Limits.MaxBytes of encoded records (alerts and telemetry together). A Put
// that would exceed either bound first evicts the oldest telemetry item,
// then the next oldest, and so on; only when no telemetry remains does it
// evict the oldest alert. Reported state and upload records are outside the
// bounds and never evicted. Every eviction is counted in Stats.Evicted, and
// the counter is persisted in the same transaction as the eviction. Put
// returns ErrFull only for an item that could never fit in an empty store.
//
// A queued record that fails to decode (each carries a CRC-32C) is skipped
// by Next, deleted, counted in Stats.Corrupt (persisted) and logged, so it
// can never block the queue. OpenFile sets an unreadable or corrupt
// database file aside and starts a fresh one rather than failing, so the
// agent cannot crash-loop on its own state; Recovered reports what
// happened. Write failures (a full disk, say) are returned as errors
// ("outbox put: ..."), and a bbolt panic on a damaged page is turned into
// an error too.
//
// Concurrency: a Store is safe for concurrent use. Writes (Put, Ack and the
// rest) hold the Store's mutex for the whole bbolt write transaction, so the
// in-memory counts always match what is committed; Next and the other reads
// use bbolt read transactions and run alongside writers (bbolt makes a
// writer wait for readers only while it grows its memory map). Use one Store per
// prefix per database. The Store starts no goroutines.
package outbox
