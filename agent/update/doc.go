// Package update verifies signed update metadata before the agent acts on
// it (DESIGN.md decision 7, UPDATES.md §5.4-5.5): it speaks Azure Device
// Update's deviceUpdate wire shapes and adds the checks ADU lacks.
//
// Trust chain. Root keys are built into the agent (Roots: a version, a set
// of public JWKs, threshold 1 for now). A deployment's
// updateManifestSignature is an ADU-shaped compact JWS: its payload is
// {"sha256": base64(SHA-256(updateManifest))}, its protected header names
// the signing key ("kid") and carries that key as "sjwk", itself a compact
// JWS over the signing key's public JWK by a root key. Verify accepts a
// manifest only through that chain. Roots.Rotate accepts a new root set
// only when it is signed by the current roots (and by its own keys, so no
// one rotates to keys nobody holds) and carries a strictly higher version;
// the caller persists the result. A root set can also disable signing keys
// by RFC 7638 thumbprint.
//
// Manifest. The signed updateManifest is the manufacturer's inner manifest
// (Manifest): update id, update line, a release counter, an expiry, the
// compatible manufacturer/model/hardware ids, and the exact size and
// SHA-256 of every file. Verifier.Verify rejects, each with a typed *Error
// whose Reason maps to an ADU extendedResultCode: oversized or malformed
// metadata, bad signatures, keys that do not chain to the roots, disabled
// keys, a signature made for a different manifest (mix-and-match), expired
// metadata (freeze), a release counter not above the one installed on
// that line (rollback) unless the manifest is an explicitly signed
// downgrade, which is flagged and logged; wrong device; file entries
// without size or hash, with unsafe names, or above the size caps; and
// file URLs that name files the manifest does not list. FileChecker then
// enforces the exact size and hash while a file streams in, failing as
// soon as a byte beyond the declared size arrives (endless data).
//
// Not here yet: download with Range resume, the persisted install/activate
// state machine, slots, and the twin integration.
//
// Purity and concurrency. Verify takes the time and the installed state as
// arguments and does no I/O; a Verifier is immutable and safe for
// concurrent use. A FileChecker belongs to one goroutine. The helper
// package updatetest (key generation and signing for tests and the
// harness) must never be imported by agent code; a test enforces it.
//
// Imports: the standard library and go-jose only.
package update
