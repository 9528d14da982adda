package updatetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// Key is a private signing key with its JWS algorithm.
type Key struct {
	ID   string
	Alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// NewKey generates an ECDSA P-256 (ES256) key.
func NewKey(id string) (*Key, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key %q: %w", id, err)
	}
	return &Key{ID: id, Alg: jose.ES256, priv: k}, nil
}

// NewEd25519Key generates an Ed25519 (EdDSA) key.
func NewEd25519Key(id string) (*Key, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key %q: %w", id, err)
	}
	return &Key{ID: id, Alg: jose.EdDSA, priv: k}, nil
}

// NewRSAKey generates an RSA key of bits (RS256).
func NewRSAKey(id string, bits int) (*Key, error) {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generate key %q: %w", id, err)
	}
	return &Key{ID: id, Alg: jose.RS256, priv: k}, nil
}

// Public is the key's public JWK with its kid.
func (k *Key) Public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.ID, Use: "sig"}
}

// Private is the key's private JWK, for tests that feed one where a
// public key belongs.
func (k *Key) Private() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv, KeyID: k.ID}
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint (base64url) of the public
// key, as listed in a root set's disabledSigningKeys.
func (k *Key) Thumbprint() string {
	pub := k.Public()
	b, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		panic(err) // keys made here always have a thumbprint
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Sign returns a compact JWS over payload with "kid" set to k.ID and the
// extra protected headers given.
func (k *Key) Sign(payload []byte, headers map[jose.HeaderKey]any) (string, error) {
	opts := &jose.SignerOptions{ExtraHeaders: headers}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: k.Private()}, opts)
	if err != nil {
		return "", fmt.Errorf("signer for %q: %w", k.ID, err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with %q: %w", k.ID, err)
	}
	return obj.CompactSerialize()
}

// SignDetached returns a compact JWS over payload with the payload left
// out ("header..signature"), as Roots.Rotate expects.
func (k *Key) SignDetached(payload []byte) (string, error) {
	full, err := k.Sign(payload, nil)
	if err != nil {
		return "", err
	}
	parts := strings.Split(full, ".")
	return parts[0] + ".." + parts[2], nil
}

// RootSet describes a root set to serialise.
type RootSet struct {
	Version             uint64
	Keys                []*Key
	DisabledSigningKeys []string // thumbprints (Key.Thumbprint)
}

// JSON renders the root set as agent/update parses it.
func (s RootSet) JSON() ([]byte, error) {
	doc := struct {
		Version             uint64            `json:"version"`
		Threshold           int               `json:"threshold"`
		Keys                []jose.JSONWebKey `json:"keys"`
		DisabledSigningKeys []string          `json:"disabledSigningKeys,omitempty"`
	}{Version: s.Version, Threshold: 1, DisabledSigningKeys: s.DisabledSigningKeys}
	for _, k := range s.Keys {
		doc.Keys = append(doc.Keys, k.Public())
	}
	return json.Marshal(doc)
}

// Roots renders and parses the root set.
func (s RootSet) Roots() (update.Roots, error) {
	b, err := s.JSON()
	if err != nil {
		return update.Roots{}, err
	}
	return update.ParseRoots(b)
}

// SignRotation signs newRootsJSON with each key (detached), as a rotation
// needs: the current root keys and the new set's keys.
func SignRotation(newRootsJSON []byte, keys ...*Key) ([]string, error) {
	var sigs []string
	for _, k := range keys {
		s, err := k.SignDetached(newRootsJSON)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// RotationPackage builds the root key package that rotates to set: the
// set's JSON, embedded byte for byte, with detached signatures by each of
// signers (for Roots.Rotate: the current root keys and the new set's own).
func RotationPackage(set RootSet, signers ...*Key) ([]byte, error) {
	doc, err := set.JSON()
	if err != nil {
		return nil, err
	}
	sigs, err := SignRotation(doc, signers...)
	if err != nil {
		return nil, err
	}
	return RootPackage(doc, sigs)
}

// RootPackage renders a root key package ({"roots", "signatures"}) from
// root set JSON and signatures, keeping rootsJSON byte for byte (the
// signatures cover those exact bytes; json.Marshal would re-format them).
func RootPackage(rootsJSON []byte, sigs []string) ([]byte, error) {
	s, err := json.Marshal(sigs)
	if err != nil {
		return nil, err
	}
	return []byte(`{"roots":` + string(rootsJSON) + `,"signatures":` + string(s) + `}`), nil
}

// SigningKey is a manifest signing key with its sjwk: its public JWK
// signed by a root key.
type SigningKey struct {
	*Key
	SJWK string
}

// NewSigningKey generates an ES256 signing key certified by root.
func NewSigningKey(id string, root *Key) (*SigningKey, error) {
	k, err := NewKey(id)
	if err != nil {
		return nil, err
	}
	return Certify(k, root)
}

// Certify makes k a signing key certified by root.
func Certify(k *Key, root *Key) (*SigningKey, error) {
	pub, err := json.Marshal(k.Public())
	if err != nil {
		return nil, err
	}
	sjwk, err := root.Sign(pub, nil)
	if err != nil {
		return nil, err
	}
	return &SigningKey{Key: k, SJWK: sjwk}, nil
}

// SignManifest returns the ADU-shaped updateManifestSignature for manifest.
func (s *SigningKey) SignManifest(manifest []byte) (string, error) {
	sum := sha256.Sum256(manifest)
	payload, err := json.Marshal(update.SignaturePayload{SHA256: base64.StdEncoding.EncodeToString(sum[:])})
	if err != nil {
		return "", err
	}
	return s.Sign(payload, map[jose.HeaderKey]any{update.HeaderSJWK: s.SJWK})
}

// File returns the manifest entry for a file with the given content. Its
// ID, the key of its URL in the twin, is derived from the name ("f" and 16
// hex digits, like ADU's file ids), since a twin key may not hold a '.'.
func File(name string, content []byte) update.FileEntry {
	sum := sha256.Sum256(content)
	id := sha256.Sum256([]byte(name))
	return update.FileEntry{ID: "f" + hex.EncodeToString(id[:8]), Name: name, SizeInBytes: int64(len(content)),
		Hashes: update.Hashes{SHA256: base64.StdEncoding.EncodeToString(sum[:])}}
}

// Manifest returns a manifest for one device kind with the given files,
// release counter and validity.
func Manifest(c update.Compatibility, line string, counter uint64, expires time.Time, files ...update.FileEntry) update.Manifest {
	return update.Manifest{
		UpdateID:       update.UpdateID{Provider: "Cloud Pillar", Name: line, Version: fmt.Sprintf("1.0.%d", counter)},
		Line:           line,
		ReleaseCounter: counter,
		Expires:        expires,
		Compatibility:  []update.Compatibility{c},
		Files:          files,
	}
}

// Deployment marshals m, signs it with sk and returns the service object
// that deploys it, with one URL per file under baseURL.
func Deployment(m update.Manifest, sk *SigningKey, workflowID, baseURL string) (update.ServiceUpdate, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return update.ServiceUpdate{}, err
	}
	sig, err := sk.SignManifest(raw)
	if err != nil {
		return update.ServiceUpdate{}, err
	}
	urls := make(map[string]string, len(m.Files))
	for _, f := range m.Files {
		urls[f.URLKey()] = strings.TrimSuffix(baseURL, "/") + "/" + f.Name
	}
	return update.ServiceUpdate{
		Workflow:                update.Workflow{Action: update.ActionApply, ID: workflowID},
		UpdateManifest:          string(raw),
		UpdateManifestSignature: sig,
		FileURLs:                urls,
	}, nil
}
