// Package blob owns hubsim's file upload (PROTOCOL.md §3): an
// Azure-Blob-compatible HTTP endpoint, the blobs it stores on disk, and the
// upload sessions and notifications of IoT Hub's device file-upload API.
//
// Store keeps committed blobs and uncommitted blocks under a directory.
// Server serves the Blob REST operations devices use (Put Blob, Put Block,
// Put Block List, Get Blob, Get Blob Properties, Get Block List) with
// Azure's headers (x-ms-blob-type, x-ms-version, ETag, Content-MD5) and
// XML errors, admitting only requests that carry a valid service SAS it
// issued (sig, sr=b, se, st, sp). Uploads hands out SAS URIs (blob
// `{deviceId}/{name}`), limits each device to 10 open uploads
// (403006 in the service), and records a Notification when a device
// reports success. ParseRequest and ParseBlockList read untrusted input and
// are fuzzed.
//
// Bodies stream to temporary files without holding a lock, so uploads run
// in parallel; one mutex per Store covers renames and metadata, one per
// Uploads covers sessions. No goroutines are started. It imports only the
// standard library.
package blob
