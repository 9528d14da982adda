package update

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// Root set limits.
const (
	MaxRootsBytes         = 64 << 10
	MaxRootKeys           = 16
	MaxRotationSignatures = 16
	MinRSABits            = 2048
)

// allowedAlgs are the JWS algorithms accepted anywhere: asymmetric only,
// so a public key can never be used as an HMAC secret.
var allowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Roots is a trusted root key set. The agent embeds the first one; later
// ones come only through Rotate. The zero Roots trusts nothing.
type Roots struct {
	version   uint64
	threshold int
	keys      map[string]jose.JSONWebKey // by kid
	disabled  map[string]bool            // signing-key thumbprints
	raw       []byte
}

// rootsDoc is the JSON form of a root set.
type rootsDoc struct {
	Version   uint64            `json:"version"`
	Threshold int               `json:"threshold"`
	Keys      []jose.JSONWebKey `json:"keys"`
	// DisabledSigningKeys lists RFC 7638 SHA-256 thumbprints (base64url)
	// of signing keys no longer trusted, as ADU's root key package does.
	DisabledSigningKeys []string `json:"disabledSigningKeys,omitempty"`
}

// ParseRoots parses and checks a root set: version >= 1, threshold 1 (the
// only one supported for now), 1-MaxRootKeys public signature keys with
// distinct kids and key material, and well-formed disabled thumbprints.
func ParseRoots(data []byte) (Roots, error) {
	if len(data) > MaxRootsBytes {
		return Roots{}, reject(ReasonOversize, nil, "root set is %d bytes, cap %d", len(data), MaxRootsBytes)
	}
	var doc rootsDoc
	if err := decodeStrict(data, &doc); err != nil {
		return Roots{}, reject(ReasonMalformedRoots, err, "root set is not valid JSON of the expected shape")
	}
	switch {
	case doc.Version == 0:
		return Roots{}, reject(ReasonMalformedRoots, nil, "root set version is missing or 0")
	case doc.Threshold != 1:
		return Roots{}, reject(ReasonMalformedRoots, nil, "root set threshold %d: only 1 is supported", doc.Threshold)
	case len(doc.Keys) == 0 || len(doc.Keys) > MaxRootKeys:
		return Roots{}, reject(ReasonMalformedRoots, nil, "root set must hold 1-%d keys, has %d", MaxRootKeys, len(doc.Keys))
	}
	r := Roots{version: doc.Version, threshold: doc.Threshold, keys: map[string]jose.JSONWebKey{},
		disabled: map[string]bool{}, raw: slices.Clone(data)}
	thumbs := map[string]bool{}
	for i, k := range doc.Keys {
		if err := checkPublicKey(k); err != nil {
			return Roots{}, reject(ReasonMalformedRoots, err, "root key %d", i)
		}
		t := thumbprint(k)
		if _, dup := r.keys[k.KeyID]; dup || thumbs[t] {
			return Roots{}, reject(ReasonMalformedRoots, nil, "root key %d (%q) repeats a kid or key", i, k.KeyID)
		}
		r.keys[k.KeyID], thumbs[t] = k, true
	}
	for _, t := range doc.DisabledSigningKeys {
		if b, err := base64.RawURLEncoding.DecodeString(t); err != nil || len(b) != 32 {
			return Roots{}, reject(ReasonMalformedRoots, err, "disabled signing key %q is not a base64url SHA-256 thumbprint", t)
		}
		r.disabled[t] = true
	}
	return r, nil
}

// Version is the root set's version (0 for the zero Roots).
func (r Roots) Version() uint64 { return r.version }

// KeyIDs lists the root key ids, sorted.
func (r Roots) KeyIDs() []string {
	ids := make([]string, 0, len(r.keys))
	for id := range r.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// equal reports whether r and o are the same root set: version,
// threshold, keys (by kid and key material) and disabled signing keys.
func (r Roots) equal(o Roots) bool {
	if r.version != o.version || r.threshold != o.threshold || len(r.keys) != len(o.keys) || len(r.disabled) != len(o.disabled) {
		return false
	}
	for kid, k := range r.keys {
		ok, found := o.keys[kid]
		if !found || thumbprint(k) != thumbprint(ok) {
			return false
		}
	}
	for t := range r.disabled {
		if !o.disabled[t] {
			return false
		}
	}
	return true
}

// JSON returns the exact bytes the root set was parsed from, to persist.
func (r Roots) JSON() []byte { return slices.Clone(r.raw) }

// Rotate accepts a new root set when its version is strictly higher and
// the detached compact JWS signatures in sigs over newRootsJSON include a
// threshold of the current root keys and a threshold of the new set's own
// keys (TUF §5.3.4). The caller persists the returned Roots (its JSON) and
// the signatures, and replays rotations in order.
func (r Roots) Rotate(newRootsJSON []byte, sigs []string) (Roots, error) {
	next, err := ParseRoots(newRootsJSON)
	if err != nil {
		return Roots{}, err
	}
	if next.version <= r.version {
		return Roots{}, reject(ReasonRootRollback, nil, "new root set version %d is not above the current %d", next.version, r.version)
	}
	if len(sigs) > MaxRotationSignatures {
		return Roots{}, reject(ReasonRootSignature, nil, "%d signatures, cap %d", len(sigs), MaxRotationSignatures)
	}
	if n := r.countSignatures(newRootsJSON, sigs); n < r.threshold {
		return Roots{}, reject(ReasonRootSignature, nil, "new root set v%d is signed by %d current root keys (v%d), need %d", next.version, n, r.version, r.threshold)
	}
	if n := next.countSignatures(newRootsJSON, sigs); n < next.threshold {
		return Roots{}, reject(ReasonRootSignature, nil, "new root set v%d is signed by %d of its own keys, need %d", next.version, n, next.threshold)
	}
	return next, nil
}

// countSignatures counts distinct keys of r with a valid signature over
// payload; unparseable or foreign signatures are ignored.
func (r Roots) countSignatures(payload []byte, sigs []string) int {
	valid := map[string]bool{}
	for _, s := range sigs {
		if len(s) > MaxSignatureBytes {
			continue
		}
		jws, err := jose.ParseDetached(s, payload, allowedAlgs)
		if err != nil || len(jws.Signatures) != 1 {
			continue
		}
		h := jws.Signatures[0].Protected
		k, ok := r.keys[h.KeyID]
		if !ok || valid[h.KeyID] || !algFits(h.Algorithm, k) {
			continue
		}
		if jws.DetachedVerify(payload, k.Key) == nil {
			valid[h.KeyID] = true
		}
	}
	return len(valid)
}

// checkPublicKey accepts a public signature key we support: RSA of at
// least MinRSABits, ECDSA on P-256/384/521, or Ed25519, with a kid, and an
// "alg" and "use" that fit if present.
func checkPublicKey(k jose.JSONWebKey) error {
	if k.KeyID == "" || len(k.KeyID) > maxIDLength {
		return fmt.Errorf("kid must be 1-%d bytes", maxIDLength)
	}
	if !k.IsPublic() {
		return fmt.Errorf("key %q is not a public key", k.KeyID)
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() < MinRSABits {
			return fmt.Errorf("key %q: RSA %d bits, need %d", k.KeyID, key.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		if curveAlg(key.Curve) == "" {
			return fmt.Errorf("key %q: unsupported curve", k.KeyID)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("key %q: unsupported key type %T", k.KeyID, k.Key)
	}
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("key %q: use %q, want sig", k.KeyID, k.Use)
	}
	if k.Algorithm != "" && !algFits(k.Algorithm, k) {
		return fmt.Errorf("key %q: alg %q does not fit the key", k.KeyID, k.Algorithm)
	}
	return nil
}

func curveAlg(c elliptic.Curve) jose.SignatureAlgorithm {
	switch c {
	case elliptic.P256():
		return jose.ES256
	case elliptic.P384():
		return jose.ES384
	case elliptic.P521():
		return jose.ES512
	}
	return ""
}

// algFits reports whether a JWS with algorithm alg may be verified with k:
// the algorithm must suit the key type (and curve), and equal the key's
// own "alg" when it names one.
func algFits(alg string, k jose.JSONWebKey) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	a := jose.SignatureAlgorithm(alg)
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return slices.Contains([]jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}, a)
	case *ecdsa.PublicKey:
		return a == curveAlg(key.Curve)
	case ed25519.PublicKey:
		return a == jose.EdDSA
	}
	return false
}

// thumbprint is k's RFC 7638 SHA-256 thumbprint, base64url.
func thumbprint(k jose.JSONWebKey) string {
	b, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
