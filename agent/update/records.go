package update

import (
	"encoding/json"
	"fmt"
)

// Records is a durable key-value store of small records that survive a
// restart and power loss once a Put returned. *outbox.Store satisfies it
// with its upload records (PutUpload, GetUpload, DeleteUpload).
type Records interface {
	PutUpload(id string, record []byte) error
	GetUpload(id string) (record []byte, ok bool, err error)
	DeleteUpload(id string) error
}

// Keys of the records RecordStore keeps. Other users of the same Records
// (log uploads) must leave keys with KeyPrefix alone.
const (
	KeyPrefix      = "update:"
	stateKey       = KeyPrefix + "state"
	progressPrefix = KeyPrefix + "progress:"
	rootsKey       = KeyPrefix + "roots"
)

// Progress persists download progress, so a restart resumes a download
// instead of starting it over.
type Progress interface {
	LoadProgress(file string) (p ProgressRecord, ok bool, err error)
	SaveProgress(file string, p ProgressRecord) error
	DeleteProgress(file string) error
}

// ProgressRecord is how far one file's download got. The partial file
// holds at least Done bytes (it is synced before the record is saved).
type ProgressRecord struct {
	SHA256    string `json:"sha256"`    // the FileEntry's declared hash: a record for other content is ignored
	Size      int64  `json:"size"`      // the declared size
	Done      int64  `json:"done"`      // bytes written, synced and hashed
	HashState []byte `json:"hashState"` // crypto/sha256 state after Done bytes (FileChecker.State)
	ETag      string `json:"etag,omitempty"`
}

// StateStore persists the install state machine's Record.
type StateStore interface {
	LoadState() (rec Record, ok bool, err error)
	SaveState(rec Record) error
}

// RecordStore keeps download progress and the install state as JSON
// records in a Records store. Safe for concurrent use if the Records is.
type RecordStore struct {
	r Records
}

// NewRecordStore returns a store over r (the agent passes its outbox).
func NewRecordStore(r Records) *RecordStore { return &RecordStore{r: r} }

var (
	_ Progress   = (*RecordStore)(nil)
	_ StateStore = (*RecordStore)(nil)
	_ RootStore  = (*RecordStore)(nil)
)

// LoadProgress returns the progress record of file, if any. A record that
// does not decode is reported as absent: the download starts over.
func (s *RecordStore) LoadProgress(file string) (ProgressRecord, bool, error) {
	var p ProgressRecord
	ok, err := s.load(progressPrefix+file, &p)
	return p, ok && err == nil, ignoreCorrupt(err)
}

// SaveProgress replaces the progress record of file.
func (s *RecordStore) SaveProgress(file string, p ProgressRecord) error {
	return s.save(progressPrefix+file, p)
}

// DeleteProgress removes the progress record of file.
func (s *RecordStore) DeleteProgress(file string) error {
	if err := s.r.DeleteUpload(progressPrefix + file); err != nil {
		return fmt.Errorf("update progress %q: delete: %w", file, err)
	}
	return nil
}

// LoadState returns the persisted install state, if any. Unlike progress,
// a state record that does not decode is an error: guessing could
// misreport what is installed.
func (s *RecordStore) LoadState() (Record, bool, error) {
	var rec Record
	ok, err := s.load(stateKey, &rec)
	return rec, ok, err
}

// SaveState replaces the persisted install state.
func (s *RecordStore) SaveState(rec Record) error { return s.save(stateKey, rec) }

// rootsRecord is the persisted root key packages, oldest first; each is
// kept byte for byte (base64 in JSON), since its signatures cover its
// exact bytes.
type rootsRecord struct {
	Schema   int      `json:"schema"`
	Packages [][]byte `json:"packages"`
}

// LoadRootPackages returns the accepted root key packages, oldest first.
// A record that does not decode is an error: the caller falls back to the
// built-in roots and says so.
func (s *RecordStore) LoadRootPackages() ([][]byte, bool, error) {
	var r rootsRecord
	ok, err := s.load(rootsKey, &r)
	if err == nil && ok && r.Schema != 1 {
		err = errCorrupt{fmt.Errorf("update record %q: schema %d, want 1", rootsKey, r.Schema)}
	}
	return r.Packages, ok && err == nil, err
}

// SaveRootPackages replaces the accepted root key packages.
func (s *RecordStore) SaveRootPackages(pkgs [][]byte) error {
	return s.save(rootsKey, rootsRecord{Schema: 1, Packages: pkgs})
}

// errCorrupt marks a record that was read but does not decode.
type errCorrupt struct{ err error }

func (e errCorrupt) Error() string { return e.err.Error() }
func (e errCorrupt) Unwrap() error { return e.err }

func ignoreCorrupt(err error) error {
	if _, ok := err.(errCorrupt); ok {
		return nil
	}
	return err
}

func (s *RecordStore) load(key string, v any) (bool, error) {
	raw, ok, err := s.r.GetUpload(key)
	if err != nil {
		return false, fmt.Errorf("update record %q: read: %w", key, err)
	}
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, errCorrupt{fmt.Errorf("update record %q: decode: %w", key, err)}
	}
	return true, nil
}

func (s *RecordStore) save(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("update record %q: encode: %w", key, err)
	}
	if err := s.r.PutUpload(key, raw); err != nil {
		return fmt.Errorf("update record %q: write: %w", key, err)
	}
	return nil
}
