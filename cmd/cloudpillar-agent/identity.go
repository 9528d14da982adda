package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/identity"
)

// identityExpiry reports when the device's identity expires, for the
// health endpoint: ok is false while there is none yet (a provisioned
// device before its first registration).
type identityExpiry func() (notAfter time.Time, ok bool)

// fixedExpiry is the expiry of a fixed device certificate.
func fixedExpiry(notAfter time.Time) identityExpiry {
	return func() (time.Time, bool) { return notAfter, true }
}

// issuedIdentity reads the operational identity the agent stores in dir
// (agent/identity's current file, replaced atomically on every issue or
// renewal). The agent does not expose the certificate it uses, so this
// reads what it persisted: the same certificate once the agent has
// connected with it. The file is parsed again only when it changed.
//
// Safe for concurrent use; mu guards the fields below it.
type issuedIdentity struct {
	path string

	mu       sync.Mutex
	modTime  time.Time
	size     int64
	notAfter time.Time // zero: no identity, or unreadable
}

func newIssuedIdentity(dir string) *issuedIdentity {
	return &issuedIdentity{path: filepath.Join(dir, identity.CurrentFile)}
}

// expiry is an identityExpiry.
func (s *issuedIdentity) expiry() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		s.modTime, s.size, s.notAfter = time.Time{}, 0, time.Time{}
		return time.Time{}, false
	}
	if !fi.ModTime().Equal(s.modTime) || fi.Size() != s.size {
		s.modTime, s.size, s.notAfter = fi.ModTime(), fi.Size(), readNotAfter(s.path)
	}
	return s.notAfter, !s.notAfter.IsZero()
}

// readNotAfter is the leaf certificate's NotAfter of the identity file at
// path, or zero if it cannot be read.
func readNotAfter(path string) time.Time {
	raw, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	var id identity.Identity
	if json.Unmarshal(raw, &id) != nil {
		return time.Time{}
	}
	leaf, err := id.Leaf()
	if err != nil {
		return time.Time{}
	}
	return leaf.NotAfter
}
