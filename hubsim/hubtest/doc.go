// Package hubtest starts hubsim hubs for tests, the way httptest starts HTTP
// servers: on 127.0.0.1:0 with a generated CA, closed when the test ends. It
// also issues device credentials (CA-signed and self-signed certificates,
// SAS devices and tokens), opens raw paho clients and amenzhinsky iothub SDK
// clients pointed at the hub for conformance tests, and polls conditions
// with a deadline instead of sleeping.
//
// Test-only: production code never imports it.
package hubtest
