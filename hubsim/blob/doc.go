// Package blob owns hubsim's file upload (PROTOCOL.md §3): an
// Azure-Blob-compatible HTTP endpoint, the blobs it stores on disk, and the
// upload sessions and notifications of IoT Hub's device file-upload API.
//
// Store keeps committed blobs (content, properties and x-ms-meta-*
// metadata) and uncommitted blocks under a directory, within the limits of
// a StoreConfig. Server serves the Blob REST operations devices use (Put
// Blob, Put Block, Put Block List, Get Blob, Get Blob Properties, Get
// Block List) with Azure's headers (x-ms-blob-type, x-ms-version, ETag,
// Content-MD5, x-ms-meta-*) and XML errors, admitting only requests that
// carry a valid service SAS it issued (sig, sr=b, se, st, sp). As Azure
// does, it checks a body against the Content-MD5 or x-ms-content-crc64
// sent with it (400 Md5Mismatch, Crc64Mismatch: nothing stored) and
// refuses metadata names that are no C# identifiers (InvalidMetadata) and
// more than 8 KiB of metadata (MetadataTooLarge). Uploads hands out SAS
// URIs (blob `{deviceId}/{name}`), limits each device to 10 open uploads
// (403006 in the service), and records a Notification when a device
// reports success. ParseRequest, ParseBlockList and ParseMetadata read
// untrusted input and are fuzzed.
//
// Bodies stream to temporary files without holding a lock, so uploads run
// in parallel; one mutex per Store covers renames and metadata, one per
// Uploads covers sessions. No goroutines are started. It imports only the
// standard library.
package blob
