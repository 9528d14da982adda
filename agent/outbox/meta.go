package outbox

import (
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"
)

// NextBoot increments the persisted boot counter and returns the new value
// (1 on the first boot). Message ids "<deviceId>-<boot>-<seq>" built from it
// stay unique across restarts.
func (s *Store) NextBoot() (uint64, error) {
	var boot uint64
	err := s.update("next boot", func(tx *bbolt.Tx) (func(), error) {
		meta := tx.Bucket(s.names.meta)
		boot = getUint(meta, keyBoot) + 1
		return nil, putUint(meta, keyBoot, boot)
	})
	if err != nil {
		return 0, err
	}
	return boot, nil
}

// PutUpload stores an opaque upload-session record under id, replacing any
// record already there. Upload records are never evicted.
func (s *Store) PutUpload(id string, record []byte) error {
	if id == "" {
		return errors.New("outbox put upload: empty id")
	}
	return s.update("put upload", func(tx *bbolt.Tx) (func(), error) {
		// bbolt keeps the value until commit; copy so the caller may reuse it.
		if err := tx.Bucket(s.names.upload).Put([]byte(id), slices.Clone(record)); err != nil {
			return nil, fmt.Errorf("upload %q: %w", id, err)
		}
		return nil, nil
	})
}

// GetUpload returns the record stored under id; ok is false if there is none.
func (s *Store) GetUpload(id string) (record []byte, ok bool, err error) {
	err = s.view("get upload", func(tx *bbolt.Tx) error {
		if v := tx.Bucket(s.names.upload).Get([]byte(id)); v != nil {
			record, ok = slices.Clone(v), true
		}
		return nil
	})
	return record, ok, err
}

// DeleteUpload removes the record stored under id; a missing id is not an
// error.
func (s *Store) DeleteUpload(id string) error {
	return s.update("delete upload", func(tx *bbolt.Tx) (func(), error) {
		return nil, tx.Bucket(s.names.upload).Delete([]byte(id))
	})
}

// Uploads returns the ids of all stored upload records, in byte order, so
// the agent can resume them after a restart.
func (s *Store) Uploads() ([]string, error) {
	var ids []string
	err := s.view("list uploads", func(tx *bbolt.Tx) error {
		return tx.Bucket(s.names.upload).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, err
}
