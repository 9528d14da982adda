// Package identity owns the device's operational identity (DESIGN.md
// decision 4): the private key, the certificate signing request that asks
// DPS for a certificate, the store of issued certificate chains, and the
// renewal schedule.
//
// The private key is generated on the device and never leaves it. Keys sit
// behind KeyStore and are used only as crypto.Signer, so the file-backed
// FileKeyStore (PKCS#8 PEM files, mode 0600, written atomically) can be
// replaced by a TPM or PKCS#11 backend. Nothing in this package logs,
// formats or returns key material: a Signer prints as its key id.
//
// Store keeps the current identity (chain, key id, assigned hub, device
// id) and the previous one for rollback, each in one JSON file replaced by
// write-temp-then-rename, so a crash at any point leaves either the old or
// the new identity, never a mix. The renewal policy (RenewAt, Renewal) is
// pure: time is an argument.
//
// It imports the standard library only. Store and FileKeyStore are safe
// for concurrent use within one process; one process owns a directory.
package identity
