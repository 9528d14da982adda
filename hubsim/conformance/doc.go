// Package conformance holds hubsim's conformance tests (DESIGN.md §5 layer
// 2): third-party clients against a real hub on loopback TLS. The
// amenzhinsky iothub SDK's device client (X.509 and SAS) exercises D2C,
// C2D, direct methods and twins; raw paho clients commit every protocol
// violation of PROTOCOL.md §1.5 and check that only the offender is
// affected; and every client packet Microsoft's Node SDK sent (the
// shared wire capture, embedded in internal/nodewire) is replayed and must
// be accepted and understood.
//
// The package has no code outside its tests; it imports hubsim and its
// hubtest helpers, internal/nodewire, the SDK, paho and mochi's packet
// codec.
package conformance
