// Package sas parses, verifies and signs IoT Hub shared access signature
// tokens (PROTOCOL.md §1.3):
//
//	SharedAccessSignature sr={resource}&sig={signature}&se={expiry}[&skn={policy}]
//
// Fields come in any order. The signature is HMAC-SHA256, keyed with the
// base64-decoded key, over the sr field exactly as it was received (encoded
// or not: SDKs differ) followed by "\n" and se as received. Verification
// never re-encodes what the device sent, so every SDK variant in
// wire/node-sdk.jsonl verifies.
//
// It also describes the hub's shared access policies (iothubowner, service,
// device, ...) and their rights, so device-facing and service-facing code
// authorize policy tokens (those with skn) the same way.
//
// The package is pure: no I/O, no goroutines, time passed in. It imports the
// standard library only.
package sas
