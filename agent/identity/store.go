package identity

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// File names inside a Store's directory.
const (
	CurrentFile  = "operational.json"
	PreviousFile = "operational.prev.json"
	PendingFile  = "pending.json"
	KeysDir      = "keys"
)

// ErrNoIdentity says the store holds no identity (first boot, or no
// previous identity to roll back to).
var ErrNoIdentity = errors.New("no operational identity")

// Identity is one operational identity: what DPS assigned and issued, and
// which key the certificate is for. It holds no key material.
type Identity struct {
	RegistrationID string `json:"registrationId"`
	DeviceID       string `json:"deviceId"`
	AssignedHub    string `json:"assignedHub"`
	// KeyID names the private key in the KeyStore.
	KeyID string `json:"keyId"`
	// Chain is the issued certificate chain, DER, leaf first.
	Chain [][]byte `json:"certificateChain"`
}

// Leaf parses the first certificate of the chain.
func (id Identity) Leaf() (*x509.Certificate, error) {
	if len(id.Chain) == 0 {
		return nil, errors.New("identity has no certificate")
	}
	return x509.ParseCertificate(id.Chain[0])
}

// check verifies that the identity is complete and that its leaf
// certificate is for pub with CN = device id.
func (id Identity) check(pub crypto.PublicKey) error {
	if id.DeviceID == "" || id.AssignedHub == "" || id.KeyID == "" {
		return errors.New("identity lacks a device id, hub or key id")
	}
	leaf, err := id.Leaf()
	if err != nil {
		return err
	}
	if cn := leaf.Subject.CommonName; cn != id.DeviceID {
		return fmt.Errorf("certificate CN %q is not the device id %q", cn, id.DeviceID)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if eq, ok := leaf.PublicKey.(equaler); !ok || !eq.Equal(pub) {
		return errors.New("certificate is not for the device key")
	}
	return nil
}

// Store keeps the current and previous operational identities in a
// directory, and the pending key of an identity being requested.
type Store struct {
	dir  string
	keys KeyStore

	mu sync.Mutex // serialises changes to the files
}

// OpenStore opens (creating with mode 0700) a store in dir. keys nil uses
// a FileKeyStore in dir/keys.
func OpenStore(dir string, keys KeyStore) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity store: %w", err)
	}
	if keys == nil {
		fk, err := NewFileKeyStore(filepath.Join(dir, KeysDir))
		if err != nil {
			return nil, err
		}
		keys = fk
	}
	return &Store{dir: dir, keys: keys}, nil
}

// Keys is the store's key store.
func (s *Store) Keys() KeyStore { return s.keys }

// Current returns the identity in use, or ErrNoIdentity.
func (s *Store) Current() (Identity, error) { return readIdentity(s.dir, CurrentFile) }

// Previous returns the identity kept for rollback, or ErrNoIdentity.
func (s *Store) Previous() (Identity, error) { return readIdentity(s.dir, PreviousFile) }

// ReadCurrent returns the identity in use in the store at dir, or
// ErrNoIdentity, without opening the store (no folder or key store is
// created): for a tool that only inspects it.
func ReadCurrent(dir string) (Identity, error) { return readIdentity(dir, CurrentFile) }

func readIdentity(dir, name string) (Identity, error) {
	var id Identity
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return id, ErrNoIdentity
	}
	if err != nil {
		return id, fmt.Errorf("read identity: %w", err)
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		return id, fmt.Errorf("read identity %s: %w", name, err)
	}
	return id, nil
}

// Certificate returns id's chain and key as a TLS client certificate.
func (s *Store) Certificate(id Identity) (tls.Certificate, error) {
	key, err := s.keys.Signer(id.KeyID)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := id.check(key.Public()); err != nil {
		return tls.Certificate{}, fmt.Errorf("identity of %s: %w", id.DeviceID, err)
	}
	leaf, _ := id.Leaf()
	return tls.Certificate{Certificate: id.Chain, PrivateKey: key, Leaf: leaf}, nil
}

// Replace makes id the current identity and the current one the previous.
// The new certificate must be for its key. Each file is replaced
// atomically and the previous copy is written first, so a crash leaves the
// old or the new identity current. The key of the identity that drops out
// is deleted unless still in use.
func (s *Store) Replace(id Identity) error {
	key, err := s.keys.Signer(id.KeyID)
	if err != nil {
		return fmt.Errorf("replace identity: %w", err)
	}
	if err := id.check(key.Public()); err != nil {
		return fmt.Errorf("replace identity: %w", err)
	}
	raw, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped, _ := readIdentity(s.dir, PreviousFile)
	cur, err := os.ReadFile(filepath.Join(s.dir, CurrentFile))
	if err == nil {
		if err := writeFileAtomic(filepath.Join(s.dir, PreviousFile), cur, 0o600); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(filepath.Join(s.dir, CurrentFile), raw, 0o600); err != nil {
		return err
	}
	s.clearPendingLocked(id.KeyID)
	s.pruneLocked(dropped.KeyID)
	return nil
}

// Rollback makes the previous identity current again (and the current one
// previous), say when the hub refuses a freshly renewed certificate.
func (s *Store) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, err := os.ReadFile(filepath.Join(s.dir, PreviousFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("roll back: %w", ErrNoIdentity)
	}
	if err != nil {
		return fmt.Errorf("roll back: %w", err)
	}
	cur, err := os.ReadFile(filepath.Join(s.dir, CurrentFile))
	if err != nil {
		return fmt.Errorf("roll back: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.dir, CurrentFile), prev, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.dir, PreviousFile), cur, 0o600)
}

// pruneLocked deletes key id unless the current, previous or pending
// identity still uses it.
func (s *Store) pruneLocked(id string) {
	if id == "" {
		return
	}
	cur, _ := readIdentity(s.dir, CurrentFile)
	prev, _ := readIdentity(s.dir, PreviousFile)
	if id == cur.KeyID || id == prev.KeyID || id == s.pendingIDLocked() {
		return
	}
	_ = s.keys.Delete(id) // a leftover key file is harmless; it is never used again
}
