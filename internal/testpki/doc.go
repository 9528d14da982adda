// Package testpki generates the lab PKI the harness runs on: a CA, the hub's
// TLS server certificate and device client certificates, all made at run time
// and never committed.
//
// It is harness-only: the shipped agent never imports it (the dependency test
// in the repository root enforces that). Keys are ECDSA P-256. Private keys
// written to disk get mode 0600 and are never logged.
//
// A CA is safe for concurrent use once created: issuing only reads it.
package testpki
