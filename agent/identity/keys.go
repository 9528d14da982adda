package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// KeyType names the curve of a device key.
type KeyType string

// Device key types. P384 is the default: DPS certificate issuance requires
// ECDSA P-384 (PROTOCOL.md §6.1).
const (
	P256 KeyType = "ecdsa-p256"
	P384 KeyType = "ecdsa-p384"
	// DefaultKeyType is used when a KeyType is left empty.
	DefaultKeyType = P384
)

func (kt KeyType) curve() (elliptic.Curve, error) {
	switch kt {
	case P256:
		return elliptic.P256(), nil
	case "", P384:
		return elliptic.P384(), nil
	}
	return nil, fmt.Errorf("unsupported key type %q (want %s or %s)", kt, P256, P384)
}

// ErrKeyNotFound says a KeyStore has no key with the asked id.
var ErrKeyNotFound = errors.New("device key not found")

// KeyStore holds device private keys and hands them out only as signers.
// A TPM or PKCS#11 token can implement it; FileKeyStore is the default.
type KeyStore interface {
	// Generate creates a new key and returns its id.
	Generate(kt KeyType) (id string, s crypto.Signer, err error)
	// Signer returns the key with that id, or an error wrapping
	// ErrKeyNotFound.
	Signer(id string) (crypto.Signer, error)
	// Delete removes a key; deleting a missing key is not an error.
	Delete(id string) error
}

// KeyID is the id FileKeyStore gives a key: the first 16 bytes of the
// SHA-256 of its public key (SubjectPublicKeyInfo DER), in hex.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:16]), nil
}

// FileKeyStore keeps each key in DIR/<id>.key as PKCS#8 PEM, mode 0600.
type FileKeyStore struct {
	dir string
}

var _ KeyStore = (*FileKeyStore)(nil)

// NewFileKeyStore returns a key store in dir, creating it with mode 0700.
func NewFileKeyStore(dir string) (*FileKeyStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	return &FileKeyStore{dir: dir}, nil
}

// Generate makes an ECDSA key of type kt and writes it atomically.
func (s *FileKeyStore) Generate(kt KeyType) (string, crypto.Signer, error) {
	curve, err := kt.curve()
	if err != nil {
		return "", nil, fmt.Errorf("generate device key: %w", err)
	}
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return "", nil, fmt.Errorf("generate device key: %w", err)
	}
	id, err := KeyID(key.Public())
	if err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, fmt.Errorf("encode device key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeFileAtomic(s.path(id), data, 0o600); err != nil {
		return "", nil, fmt.Errorf("store device key: %w", err)
	}
	return id, &signer{key: key, id: id}, nil
}

// Signer loads the key with that id.
func (s *FileKeyStore) Signer(id string) (crypto.Signer, error) {
	if !validKeyID(id) {
		return nil, fmt.Errorf("device key %q: %w", id, ErrKeyNotFound)
	}
	data, err := os.ReadFile(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("device key %s: %w", id, ErrKeyNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("device key %s: %w", id, err)
	}
	key, err := parseECKey(data)
	if err != nil {
		return nil, fmt.Errorf("device key %s: %w", id, err)
	}
	return &signer{key: key, id: id}, nil
}

// Delete removes the key file.
func (s *FileKeyStore) Delete(id string) error {
	if !validKeyID(id) {
		return nil
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete device key %s: %w", id, err)
	}
	return nil
}

// Path is the file of key id (for tools that need a key file, such as an
// agent configured with certFile/keyFile).
func (s *FileKeyStore) Path(id string) string { return s.path(id) }

func (s *FileKeyStore) path(id string) string { return filepath.Join(s.dir, id+".key") }

// validKeyID keeps ids to lowercase hex so an id can never name a path
// outside the store.
func validKeyID(id string) bool {
	return id != "" && len(id) <= 64 && strings.Trim(id, "0123456789abcdef") == ""
}

// parseECKey reads a PKCS#8 ECDSA key; errors never quote the key.
func parseECKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PKCS#8 PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("malformed PKCS#8 private key")
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want ECDSA", k)
	}
	return key, nil
}

// signer wraps a private key so that it signs but never prints: fmt and
// slog show only the key id.
type signer struct {
	key *ecdsa.PrivateKey
	id  string
}

func (s *signer) Public() crypto.PublicKey { return s.key.Public() }

func (s *signer) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, digest, opts)
}

func (s *signer) String() string             { return "device key " + s.id }
func (s *signer) GoString() string           { return s.String() }
func (s *signer) LogValue() slog.Value       { return slog.StringValue(s.String()) }
func (s *signer) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }
