package logship

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/json"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"
	"time"
)

// SessionStore persists jobs and upload sessions as opaque records, each
// replaced whole. *outbox.Store satisfies it (PutUpload, GetUpload,
// DeleteUpload, Uploads); records of this package are keyed "logship/...".
type SessionStore interface {
	PutUpload(id string, record []byte) error
	GetUpload(id string) (record []byte, ok bool, err error)
	DeleteUpload(id string) error
	Uploads() ([]string, error)
}

// Record keys.
const (
	keyPrefix    = "logship/"
	jobKeyPrefix = keyPrefix + "job/"
	keySchedule  = keyPrefix + "schedule"
)

func jobKey(id string) string { return jobKeyPrefix + id }

func sessionKey(job string, i int) string { return fmt.Sprintf("%sup/%s/%05d", keyPrefix, job, i) }

// Phases of an upload session.
const (
	phaseStaging   = "staging"   // blocks being put
	phaseCommitted = "committed" // block list committed; notification pending
)

// session is the persisted state of one file's upload: enough to continue
// after a partition, a hub restart or an agent restart from the last
// staged block. It is rewritten after every block.
type session struct {
	Job    string     `json:"job"`
	Index  int        `json:"index"`
	Source string     `json:"source"`
	Kind   Kind       `json:"kind"`
	Raw    bool       `json:"raw,omitempty"`
	Blob   string     `json:"blob"` // name asked of the hub (it prefixes the device id)
	File   snapshot   `json:"file"`
	Link   *sasLink   `json:"link,omitempty"`
	Phase  string     `json:"phase"`
	Blocks []blockRec `json:"blocks,omitempty"`
	// Next is the source offset of the next block; Sent the compressed
	// bytes staged so far.
	Next int64 `json:"next"`
	Sent int64 `json:"sent"`
	// Hash, MD5 and Content are the marshalled states of SHA-256 and MD5
	// over the staged (compressed) bytes, and of SHA-256 over the content
	// (what decompression yields), after the last staged block.
	Hash       []byte `json:"hash"`
	MD5        []byte `json:"md5"`
	Content    []byte `json:"content"`
	Redactions int    `json:"redactions,omitempty"`
	// Tried counts the block indexes attempted at least once: sending
	// index < Tried again is a re-send. Resent counts the distinct blocks
	// sent more than once (ResentTo: indexes below it are counted). An
	// attempt cut off by an agent restart is not known to the next run.
	Tried    int `json:"tried"`
	Resent   int `json:"resent,omitempty"`
	ResentTo int `json:"resentTo,omitempty"`
	// Failing is when the current run of failures began (zero: none).
	Failing time.Time `json:"failing,omitzero"`
}

// sasLink is the hub's answer to an upload request (PROTOCOL.md §3).
type sasLink struct {
	CorrelationID string `json:"correlationId"`
	HostName      string `json:"hostName"`
	ContainerName string `json:"containerName"`
	BlobName      string `json:"blobName"`
	SASToken      string `json:"sasToken"` // starts with '?'
}

// blockRec is one staged block.
type blockRec struct {
	ID     string `json:"id"` // base64, as sent
	SrcLen int64  `json:"n"`  // source bytes it covers
	Size   int    `json:"z"`  // compressed bytes
	SHA256 string `json:"h"`  // hex SHA-256 of the block, to check a regenerated block
}

// blockID is block i's id: base64 of a fixed-width string, so every id of
// a blob has the same length (Put Block requires it).
func blockID(i int) string {
	return b64(fmt.Appendf(nil, "cp-%08d", i))
}

// hashes are the running digests of a session.
type hashes struct {
	sha, md5, content hash.Hash
}

func newHashes() hashes { return hashes{sha256.New(), md5.New(), sha256.New()} }

// restore loads the digests' states from s (fresh ones for a new session).
func (s *session) hashes() (hashes, error) {
	h := newHashes()
	if len(s.Hash) == 0 {
		return h, nil
	}
	for _, p := range []struct {
		h     hash.Hash
		state []byte
	}{{h.sha, s.Hash}, {h.md5, s.MD5}, {h.content, s.Content}} {
		if err := p.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.state); err != nil {
			return hashes{}, fmt.Errorf("upload session %s/%d: hash state: %w", s.Job, s.Index, err)
		}
	}
	return h, nil
}

// save stores the digests' states in s.
func (s *session) save(h hashes) {
	s.Hash, s.MD5, s.Content = state(h.sha), state(h.md5), state(h.content)
}

func state(h hash.Hash) []byte {
	b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("logship: %T cannot marshal its state: %v", h, err)) // stdlib digests always can
	}
	return b
}

// put persists s.
func (s *session) put(st SessionStore) error {
	b, err := json.Marshal(s)
	if err == nil {
		err = st.PutUpload(sessionKey(s.Job, s.Index), b)
	}
	if err != nil {
		return fmt.Errorf("%w: upload session %s/%d: %w", errStore, s.Job, s.Index, err)
	}
	return nil
}

// loadSession reads a session; ok is false if there is none.
func loadSession(st SessionStore, job string, i int) (*session, bool, error) {
	b, ok, err := st.GetUpload(sessionKey(job, i))
	if err != nil || !ok {
		return nil, false, err
	}
	var s session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, false, fmt.Errorf("upload session %s/%d: %w", job, i, err)
	}
	return &s, true, nil
}

// MemoryStore is a SessionStore in memory: nothing survives the process.
// Safe for concurrent use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string][]byte // guarded by mu
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string][]byte{}} }

// PutUpload stores a copy of record under id.
func (m *MemoryStore) PutUpload(id string, record []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[id] = append([]byte(nil), record...)
	return nil
}

// GetUpload returns a copy of the record under id.
func (m *MemoryStore) GetUpload(id string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.m[id]
	return append([]byte(nil), b...), ok, nil
}

// DeleteUpload removes id.
func (m *MemoryStore) DeleteUpload(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}

// Uploads lists the ids in byte order.
func (m *MemoryStore) Uploads() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.m))
	for id := range m.m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// keysWith returns the stored keys starting with prefix.
func keysWith(st SessionStore, prefix string) ([]string, error) {
	ids, err := st.Uploads()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out, nil
}
