// Package updatetest generates update keys at run time and signs root
// sets, root rotations, root key packages (RotationPackage, as a
// deployment's rootKeyPackageUrl serves them) and deployments in the
// shapes agent/update verifies. It is for tests and the harness
// (cloudpillar updates and pki): no agent package may import it, and no
// key it makes is ever committed.
//
// Keys are ECDSA P-256 (ES256) by default; Ed25519 and RSA are available
// for coverage. Randomness comes from crypto/rand. Safe for concurrent use.
//
// Imports: the standard library, go-jose and agent/update.
package updatetest
