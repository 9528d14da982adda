package update

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/go-jose/go-jose/v4"
)

// HeaderSJWK is the protected header that carries the signing key: a
// compact JWS over the signing key's public JWK, signed by a root key.
const HeaderSJWK = "sjwk"

// SignaturePayload is the payload of updateManifestSignature, as in ADU.
type SignaturePayload struct {
	SHA256 string `json:"sha256"` // base64 (standard) SHA-256 of updateManifest
}

// verifyManifestSignature checks sig over manifest through the chain
// root key -> signing key (sjwk) -> manifest hash.
func (r Roots) verifyManifestSignature(manifest []byte, sig string) (Provenance, error) {
	if len(sig) > MaxSignatureBytes {
		return Provenance{}, reject(ReasonOversize, nil, "signature is %d bytes, cap %d", len(sig), MaxSignatureBytes)
	}
	jws, err := jose.ParseSignedCompact(sig, allowedAlgs)
	if err != nil {
		return Provenance{}, reject(ReasonMalformedSignature, err, "updateManifestSignature")
	}
	h := jws.Signatures[0].Protected
	raw, _ := h.ExtraHeaders[HeaderSJWK].(string)
	switch {
	case h.KeyID == "":
		return Provenance{}, reject(ReasonMalformedSignature, nil, "updateManifestSignature names no kid")
	case h.JSONWebKey != nil:
		return Provenance{}, reject(ReasonMalformedSignature, nil, "updateManifestSignature embeds a jwk; keys come only through sjwk")
	case raw == "":
		return Provenance{}, reject(ReasonMalformedSignature, nil, "updateManifestSignature has no sjwk header")
	}
	sk, prov, err := r.signingKey(raw)
	if err != nil {
		return Provenance{}, err
	}
	if sk.KeyID != h.KeyID {
		return Provenance{}, reject(ReasonUnknownKey, nil, "signature names key %q but sjwk carries %q", h.KeyID, sk.KeyID)
	}
	if !algFits(h.Algorithm, sk) {
		return Provenance{}, reject(ReasonBadSignature, nil, "algorithm %q does not fit signing key %q", h.Algorithm, sk.KeyID)
	}
	payload, err := jws.Verify(sk.Key)
	if err != nil {
		return Provenance{}, reject(ReasonBadSignature, err, "manifest signature by %q", sk.KeyID)
	}
	if err := checkManifestHash(manifest, payload); err != nil {
		return Provenance{}, err
	}
	return prov, nil
}

// signingKey verifies the sjwk JWS with a root key and returns the signing
// key it carries.
func (r Roots) signingKey(sjwk string) (jose.JSONWebKey, Provenance, error) {
	var none jose.JSONWebKey
	jws, err := jose.ParseSignedCompact(sjwk, allowedAlgs)
	if err != nil {
		return none, Provenance{}, reject(ReasonMalformedSignature, err, "sjwk")
	}
	h := jws.Signatures[0].Protected
	root, ok := r.keys[h.KeyID]
	switch {
	case h.JSONWebKey != nil:
		return none, Provenance{}, reject(ReasonMalformedSignature, nil, "sjwk embeds a jwk; root keys are built in")
	case !ok:
		return none, Provenance{}, reject(ReasonUnknownKey, nil, "signing key is signed by root key %q, not in trusted roots v%d", h.KeyID, r.version)
	case !algFits(h.Algorithm, root):
		return none, Provenance{}, reject(ReasonBadSignature, nil, "algorithm %q does not fit root key %q", h.Algorithm, h.KeyID)
	}
	payload, err := jws.Verify(root.Key)
	if err != nil {
		return none, Provenance{}, reject(ReasonBadSignature, err, "sjwk signature by root key %q", h.KeyID)
	}
	var sk jose.JSONWebKey
	if err := json.Unmarshal(payload, &sk); err != nil {
		return none, Provenance{}, reject(ReasonMalformedSignature, err, "sjwk payload is not a JWK")
	}
	if err := checkPublicKey(sk); err != nil {
		return none, Provenance{}, reject(ReasonMalformedSignature, err, "sjwk signing key")
	}
	thumb := thumbprint(sk)
	if r.disabled[thumb] {
		return none, Provenance{}, reject(ReasonDisabledKey, nil, "signing key %q (%s) is disabled by roots v%d", sk.KeyID, thumb, r.version)
	}
	return sk, Provenance{RootKeyID: h.KeyID, SigningKeyID: sk.KeyID, SigningKeyThumbprint: thumb}, nil
}

// checkManifestHash compares the signed hash with the manifest's.
func checkManifestHash(manifest, payload []byte) error {
	var p SignaturePayload
	if err := decodeStrict(payload, &p); err != nil {
		return reject(ReasonMalformedSignature, err, "signature payload")
	}
	want, err := base64.StdEncoding.Strict().DecodeString(p.SHA256)
	if err == nil && len(want) != sha256.Size {
		err = errors.New("not 32 bytes")
	}
	if err != nil {
		return reject(ReasonMalformedSignature, err, "signature payload sha256")
	}
	got := sha256.Sum256(manifest)
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return reject(ReasonManifestMismatch, nil, "signature was made for a different manifest")
	}
	return nil
}
