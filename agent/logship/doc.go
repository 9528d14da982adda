// Package logship delivers device logs and case export files to the cloud
// through IoT Hub's file upload (PROTOCOL.md §3): complete, verified,
// resumable, and never while a patient case is live (issue 6).
//
// # What it does
//
// Sources are configured folders with patterns and a kind: the device's
// rotated text logs, the agent's own logs, the audit log, and case export
// folders. A job (Shipper.Request, the direct method uploadLogs through
// HandleMethod, the twin's schedule, or Trigger after an error event)
// selects the files last modified in a time range, within each source's
// retention, and uploads each one as its own gzip blob named
// "<jobId>/<source>/<path>.gz" (IoT Hub prefixes the device id). Only
// files inside a source's root are read: a requested path that leaves it
// fails the job, and a symlink whose target leaves it is reported as
// rejected and never opened. Text logs pass through a Redactor (patient
// names after "Patient:", MRN-like numbers and dates of birth by default)
// before compression; the counts are reported. Job status goes to
// Config.OnStatus as JSON-ready maps for the twin's logUploads.<jobId>:
// state (queued, waiting, uploading, retrying, done, failed), files, bytes,
// sha256, redactions, resentBlocks, error, and up to 8 files with their
// own digests (about 3 KB a job, at most 5; 5 finished jobs kept).
//
// # The upload
//
// For each file: POST /devices/{id}/files {"blobName"} gives a SAS URI;
// the file is put as blocks (Put Block, at most 4 MiB each, base64 ids of
// equal length, each with its Content-MD5: a block the endpoint refuses
// as damaged, 400 Md5Mismatch, is sent again), committed with Put Block
// List carrying x-ms-meta-sha256 (SHA-256 of the uploaded, compressed
// bytes), x-ms-meta-contentsha256 (SHA-256 of what the blob decompresses
// to), x-ms-meta-sourcebytes, -blocks, -source (the configured source
// name) and -kind, and x-ms-blob-content-md5; then the completion
// notification. A file that fails after its upload began is notified as
// failed.
//
// Exactly the file's size when its upload started is uploaded, however
// it grows meanwhile. The file is opened per block (on Windows with
// FILE_SHARE_DELETE), so the device can rotate or delete it at any time;
// a rotated file is followed by its identity (device and inode, or volume
// and file index) within its folder. A file that is gone or shorter than
// its snapshot fails clearly; it is never committed partially. (A log
// rotated by copy-and-truncate that grows past its old size between two
// blocks keeps its identity and cannot be told apart: the blob then holds
// the new bytes from that block on.)
//
// # Resuming: one gzip member per block
//
// A gzip compressor's state cannot be saved, so every block is a complete
// gzip member compressed from a contiguous range of the source with a
// fresh compressor. Concatenated members are one valid gzip stream
// (RFC 1952 §2.2; Go's gzip.Reader, gunzip and zcat read them all), so
// the committed blob is an ordinary .gz file, and block N can be made
// again from its source offset alone. Text is read in batches cut at line
// ends (redaction never sees half a line) and flushed per batch, so a
// block is closed before it could pass the block size; the cost is a few
// hundred bytes per 64 KiB against one stream. Compression is
// gzip.BestSpeed: the device's CPU matters more than the last bytes.
// Memory is constant: one block, the compressor and a 64 KiB batch,
// whatever the file size.
//
// After every staged block the session is persisted through the
// SessionStore (the agent's outbox): the SAS URI and correlation id, the
// source snapshot, each block's id, source length, size and SHA-256, and
// the marshalled SHA-256/MD5 states (crypto digests implement
// encoding.BinaryMarshaler). After a partition, a hub restart or an agent
// restart the upload continues with the next block. A SAS that expired
// or stopped verifying (403) or a lost container (404) is replaced by a
// new upload request for the same blob name, and the staged blocks are
// reused. If the commit finds blocks missing (a hub that lost its
// uncommitted blocks), they are regenerated from their source offsets,
// checked against their recorded SHA-256, and staged again; a mismatch
// (the file was rewritten in place) restarts the file from its start.
// Blocks sent more than once are counted (resentBlocks).
//
// # Faults
//
// Network errors, timeouts, truncated answers, 5xx, 429 and 403006 (too
// many active uploads) are retried with full-jitter backoff (403006 and
// 429 with a 10 s floor, 401 with 60 s); a notification the hub no longer
// knows is sent again under a new correlation id; a file that makes no
// progress for GiveUpAfter fails. A store that cannot persist a session
// (disk full) fails the file with that error: an upload that could not
// resume is not attempted.
//
// # Patient first
//
// Before every step the Shipper asks the Waiter (*guard.Gate) for
// guard.Upload and waits, reporting "waiting" with the guard's reason;
// while a block is in flight it watches the gate and abandons the request
// as soon as uploads stop being allowed, so an upload pauses within the
// gate's notice (a second) of a case starting and resumes after the quiet
// period. A token bucket caps bandwidth at all times (SetBandwidth; the
// wall clock, since bandwidth is physical even under a scaled clock).
//
// # Concurrency and imports
//
// New starts nothing; Run owns the one runner goroutine, which does every
// upload (one file at a time) and starts one short-lived watcher goroutine
// per block request, always waited for. Request, Trigger, HandleMethod,
// the setters and the status readers are safe from any goroutine. OnStatus
// is called one call at a time. Imports: the standard library and
// agent/backoff, agent/guard, agent/twin.
package logship
