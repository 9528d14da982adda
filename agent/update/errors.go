package update

import "fmt"

// Reason classifies why metadata or a file was rejected. Values are
// stable: they are the low bits of the ADU extendedResultCode.
type Reason int

// Rejection reasons. Never renumber; add new ones at the end.
const (
	ReasonBadAction          Reason = 1  // workflow action is not apply
	ReasonOversize           Reason = 2  // metadata larger than its cap
	ReasonMalformedSignature Reason = 3  // JWS unparseable, missing kid/sjwk, algorithm not allowed
	ReasonUnknownKey         Reason = 4  // signing key not chained to a trusted root key
	ReasonBadSignature       Reason = 5  // a signature does not verify
	ReasonDisabledKey        Reason = 6  // signing key disabled by the roots
	ReasonManifestMismatch   Reason = 7  // signature made for a different manifest
	ReasonMalformedManifest  Reason = 8  // manifest JSON or a required field
	ReasonExpired            Reason = 9  // metadata past its expiry (freeze)
	ReasonRollback           Reason = 10 // release counter not above the installed one
	ReasonIncompatible       Reason = 11 // manifest not for this manufacturer/model/hardware
	ReasonBadFileEntry       Reason = 12 // file without size or SHA-256, unsafe or duplicate name
	ReasonFileTooLarge       Reason = 13 // a file or the total above the size cap
	ReasonFileURLMismatch    Reason = 14 // fileUrls and manifest files disagree
	ReasonMalformedRoots     Reason = 15 // root set JSON or keys invalid
	ReasonRootRollback       Reason = 16 // new root set version not above the current one
	ReasonRootSignature      Reason = 17 // new root set lacks threshold signatures
	ReasonFileSize           Reason = 18 // streamed file longer or shorter than declared
	ReasonFileHash           Reason = 19 // streamed file hash differs
	ReasonSlowDownload       Reason = 20 // download slower than the minimum rate (slow retrieval)
	ReasonDownload           Reason = 21 // download failed: HTTP status, network or disk
	ReasonInstall            Reason = 22 // installing to the inactive slot failed
	ReasonActivate           Reason = 23 // activation did not switch to the new slot
	ReasonHealthCheck        Reason = 24 // the new slot failed its health check; rolled back
	ReasonCommit             Reason = 25 // the new slot could not be committed; rolled back
	ReasonCancelled          Reason = 26 // the service cancelled the workflow
	ReasonAttempts           Reason = 27 // a step kept failing across restarts (power loss, crash)
	ReasonRootPackage        Reason = 28 // root key package unreachable, malformed, or not persisted
)

var reasonNames = map[Reason]string{
	ReasonBadAction:          "bad-action",
	ReasonOversize:           "oversize-metadata",
	ReasonMalformedSignature: "malformed-signature",
	ReasonUnknownKey:         "unknown-key",
	ReasonBadSignature:       "bad-signature",
	ReasonDisabledKey:        "disabled-key",
	ReasonManifestMismatch:   "manifest-mismatch",
	ReasonMalformedManifest:  "malformed-manifest",
	ReasonExpired:            "expired",
	ReasonRollback:           "rollback",
	ReasonIncompatible:       "incompatible",
	ReasonBadFileEntry:       "bad-file-entry",
	ReasonFileTooLarge:       "file-too-large",
	ReasonFileURLMismatch:    "file-url-mismatch",
	ReasonMalformedRoots:     "malformed-roots",
	ReasonRootRollback:       "root-rollback",
	ReasonRootSignature:      "root-signature",
	ReasonFileSize:           "file-size",
	ReasonFileHash:           "file-hash",
	ReasonSlowDownload:       "slow-download",
	ReasonDownload:           "download",
	ReasonInstall:            "install",
	ReasonActivate:           "activate",
	ReasonHealthCheck:        "health-check",
	ReasonCommit:             "commit",
	ReasonCancelled:          "cancelled",
	ReasonAttempts:           "attempts",
	ReasonRootPackage:        "root-package",
}

// String names the reason, e.g. "rollback".
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Error makes a Reason usable as an errors.Is target:
// errors.Is(err, update.ReasonRollback).
func (r Reason) Error() string { return "update: " + r.String() }

// ADU extendedResultCode layout: facility (4 bits) | component (8 bits) |
// code (20 bits). ADU uses facility 0xD for Delivery Optimization and 0xE
// for errno; 0xC is ours.
const (
	FacilityCloudPillar = 0xC
	ComponentVerify     = 0x01 // metadata and file verification (reasons 1-19, 28)
	ComponentDownload   = 0x02 // retrieval
	ComponentInstall    = 0x03 // the inactive slot
	ComponentActivate   = 0x04 // activation, health check, commit
	ComponentWorkflow   = 0x05 // cancel, attempts
)

// Component is the ADU extendedResultCode component the reason belongs to.
func (r Reason) Component() uint32 {
	switch r {
	case ReasonSlowDownload, ReasonDownload:
		return ComponentDownload
	case ReasonInstall:
		return ComponentInstall
	case ReasonActivate, ReasonHealthCheck, ReasonCommit:
		return ComponentActivate
	case ReasonCancelled, ReasonAttempts:
		return ComponentWorkflow
	}
	return ComponentVerify
}

// ExtendedResultCode is the reason as ADU's lastInstallResult
// extendedResultCode (negative as a signed 32-bit value, like ADU's own).
func (r Reason) ExtendedResultCode() int32 {
	return int32(uint32(FacilityCloudPillar)<<28 | r.Component()<<20 | uint32(r)&0xFFFFF)
}

// Error is a rejection: a Reason, a message fit for the twin's
// resultDetails (no key material, no PHI), and the underlying cause.
type Error struct {
	Reason Reason
	Detail string
	Err    error
}

func reject(r Reason, err error, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...), Err: err}
}

func (e *Error) Error() string {
	msg := "update: " + e.Reason.String() + ": " + e.Detail
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the error's Reason.
func (e *Error) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

// ExtendedResultCode is e.Reason's ADU extendedResultCode.
func (e *Error) ExtendedResultCode() int32 { return e.Reason.ExtendedResultCode() }

// InstallResult is the ADU lastInstallResult reporting e: resultCode 0
// (failure), the extended code, and the message as resultDetails.
func (e *Error) InstallResult() InstallResult {
	return InstallResult{
		ResultCode:         ResultFailure,
		ExtendedResultCode: e.ExtendedResultCode(),
		ResultDetails:      e.Error(),
	}
}
