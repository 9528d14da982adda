package outbox

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
)

// Shared is one bbolt file holding the stores of many agents, each under
// its own prefix (DESIGN.md decision 13): a simulated fleet of thousands
// needs a few files, not a file (and a descriptor) per device.
type Shared struct {
	db *bbolt.DB
}

// OpenShared opens (creating 0600) a bbolt file for many stores. With
// noSync the file is not fsynced on commit: for simulation, where the host
// does not lose power, never for a real device.
func OpenShared(path string, noSync bool) (*Shared, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("outbox open shared %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: DefaultOpenTimeout, NoSync: noSync, NoFreelistSync: noSync})
	if err != nil {
		return nil, fmt.Errorf("outbox open shared %s: %w", path, err)
	}
	return &Shared{db: db}, nil
}

// Store opens the store kept under prefix.
func (s *Shared) Store(prefix string, lim Limits, opts ...Option) (*Store, error) {
	return Open(s.db, prefix, lim, opts...)
}

// Close closes the file; close its stores first.
func (s *Shared) Close() error {
	done := make(chan error, 1)
	go func() { done <- s.db.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("outbox close shared %s: still busy after 30 s", s.db.Path())
	}
}
