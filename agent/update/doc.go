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
// Root rotation. A deployment may name a rootKeyPackageUrl. Before the
// deployment is verified the Manager fetches that root key package
// (RootPackage: {"roots": <root set JSON>, "signatures": [detached
// compact JWS...]}, at most MaxRootPackageBytes, no guard wait: it is
// metadata, like the manifest in the twin). A package holding the roots
// in force changes nothing; any other must pass Roots.Rotate against the
// roots in force (a replayed older set is ReasonRootRollback, one not
// signed by the current roots ReasonRootSignature). An accepted package is
// appended to the chain in the RootStore before the new roots are used,
// and the deployment's manifest is then verified against them. Any
// failure (unreachable, oversize, malformed, not persisted, refused)
// rejects the deployment with a result code naming it: fail closed, since
// a package that cannot be fetched may be the one revoking a key. At start
// NewManager replays the persisted chain over the built-in roots, each
// package verified again; a record that does not decode or a package that
// no longer verifies is reported (RootsProblem, the log, the audit log)
// and the roots reached before it stay in force, so a damaged record never
// stops the agent. A package superseded by newer built-in roots is
// skipped.
//
// Manifest. The signed updateManifest is the manufacturer's inner manifest
// (Manifest): update id, update line, a release counter, an expiry, the
// compatible manufacturer/model/hardware ids, and the exact size and
// SHA-256 of every file, each with an id that keys its URL in fileUrls
// (twin property names cannot hold the '.' of a file name). Verifier.Verify rejects, each with a typed *Error
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
// Download. Downloader fetches each file over HTTP(S) into a ".part" file,
// hashing as it goes (FileChecker, whose SHA-256 state is saved with
// crypto/sha256's BinaryMarshaler). Every CheckpointBytes it syncs the
// file and then saves a ProgressRecord (bytes done, hash state, ETag), so
// a restart resumes with "Range: bytes=N-" (and If-Range) instead of
// starting over; a 200 answer restarts from byte 0. The declared size is a
// hard cap, a transfer below MinRate over RateWindow is aborted (slow
// retrieval), 5xx/408/429/network errors/truncated bodies are retried with
// jittered backoff, and it runs only while the guard allows
// guard.Download: a watcher cancels the request as soon as the guard says
// no (a case started), which, with the guard observed every second,
// pauses within one second. Tampered or oversized data is discarded.
//
// Install state machine. Record is the persisted state (StateStore; JSON)
// and its methods are the pure core: Start, Next, Enter, Finish, Recover,
// Cancel, Defer take the time and the installer's active slot and return
// the next Record, with no I/O. Phases: idle → verified → downloading →
// downloaded → installing (inactive slot, guard.Install) →
// awaitingActivation (guard.Activate: idle, quiet period over, window
// open) → activating → healthCheck → committing → committed; a failed
// health check or commit goes rollingBack → rolledBack; failures before
// activation end in failed, a cancel (action 255) before activation in
// cancelled. The runner (Manager.Run) saves the phase it enters before
// each side effect and the outcome after it; after power loss Recover
// looks at the installer's active slot to resolve an interrupted
// activation, and every other step is repeated (Installer methods are
// idempotent). Install and health-check attempts are counted in the
// record, so a step that kills the device every time ends the workflow.
// installedUpdateId changes only at commit.
//
// Audit. With ManagerConfig.Audit every decision is appended to the
// append-only audit log in the guard's AuditEntry shape, Action
// AuditAction: accepted (with the signing chain and counters), a signed
// downgrade, rejected and failed (with the result codes), guard pauses and
// resumptions of download, install and activation, activating, activated,
// committed, rolling back, rolled back, cancelled, and root rotations.
//
// Apply now. Pending names the deployment in progress or about to start
// and the guard action its next step waits for; Nudge ends a wait before a
// retry at once and makes Run re-evaluate. Neither widens the guard: the
// agent's applyUpdate direct method uses them.
//
// Twin. Manager.HandleDesired takes the desired deviceUpdate component;
// Manager reports the whole component (ADU's agent object, plus our guard,
// deferral and phase fields) through ManagerConfig.Report after every
// change, as JSON-friendly maps.
//
// Records. RecordStore keeps the state, download progress and accepted
// root key packages as JSON in any Records store; the agent's *outbox.Store is one (upload records under
// keys starting with KeyPrefix).
//
// Purity and concurrency. Verify and the Record methods take the time and
// the installed state as arguments and do no I/O; a Verifier is immutable
// and safe for concurrent use. A FileChecker belongs to one goroutine. A
// Manager's Run owns the state machine; HandleDesired, Record and Reported
// may be called from any goroutine; Report is called from Run's goroutine.
// Each download request starts two watcher goroutines that end with it.
// The helper package updatetest (key generation and signing for tests and
// the harness) must never be imported by agent code; a test enforces it.
//
// Imports: the standard library, go-jose, agent/guard and agent/backoff.
package update
