package blob

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Props are a committed blob's properties.
type Props struct {
	Container   string    `json:"container"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	ETag        string    `json:"etag"` // quoted, as sent in the ETag header
	ContentType string    `json:"contentType,omitempty"`
	ContentMD5  []byte    `json:"contentMD5,omitempty"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
	Blocks      []Block   `json:"blocks,omitempty"` // committed block list; none after Put Blob
	// Metadata is the blob's x-ms-meta-* pairs, names in lower case
	// (ParseMetadata).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Attrs are what a Put Blob or Put Block List sets besides the content;
// they replace the blob's previous ones whole.
type Attrs struct {
	ContentType string
	// ContentMD5 is stored as given by Put Block List
	// (x-ms-blob-content-md5, not checked, as Azure does); Put Blob
	// stores the MD5 of the content it received instead.
	ContentMD5 []byte
	Metadata   map[string]string
}

// Block is one block of a blob: its ID (base64, as sent) and size.
type Block struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// Store keeps blobs on disk under a directory:
//
//	{dir}/blobs/{key}.data   committed content
//	{dir}/blobs/{key}.json   Props, metadata included
//	{dir}/blocks/{key}/{hex} uncommitted blocks, by hex of the decoded ID
//	{dir}/tmp/               bodies being received
//	{dir}/account.key        the account key SAS tokens are signed with
//
// where key is a hash of container/name, so any blob name is a safe file
// name. Bodies stream into tmp/ without the lock; the lock covers only
// renames and metadata, so uploads run in parallel. Safe for concurrent use.
type Store struct {
	dir        string
	cfg        StoreConfig
	accountKey []byte // read-only after OpenStore

	mu  sync.Mutex // guards the files under blobs/ and blocks/, and seq
	seq uint64
}

// OpenStore opens (creating if needed) a store in dir with the limits of
// cfg (zero fields take their defaults). What it holds survives a new
// Store on the same dir.
func OpenStore(dir string, cfg StoreConfig) (*Store, error) {
	cfg.setDefaults()
	for _, sub := range []string{"blobs", "blocks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	k, err := loadAccountKey(filepath.Join(dir, accountKeyFile))
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return &Store{dir: dir, cfg: cfg, accountKey: k}, nil
}

// accountKeyFile holds the store's account key (hex), made on first open.
const accountKeyFile = "account.key"

// loadAccountKey reads the account key at path, or makes and saves a new
// random one when there is none: like a storage account's key, it
// outlives restarts, so a SAS URL handed out before one still works after.
// A file that is not a 32-byte hex key is an error, not replaced: every
// URL signed with the old key would silently stop working.
func loadAccountKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s: not a 32-byte hex account key", path)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand, Go 1.24+)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return k, nil
}

// AccountKey is the key the store's SAS tokens are signed with.
func (s *Store) AccountKey() []byte { return slices.Clone(s.accountKey) }

// NewStore is OpenStore with MaxBlobBytes maxSize (0 = DefaultMaxBlobBytes)
// and Azure's per-request limits.
func NewStore(dir string, maxSize int64) (*Store, error) {
	return OpenStore(dir, StoreConfig{MaxBlobBytes: maxSize})
}

// Config returns the store's limits, defaults filled in.
func (s *Store) Config() StoreConfig { return s.cfg }

func key(container, name string) string {
	sum := sha256.Sum256([]byte(container + "/" + name))
	return hex.EncodeToString(sum[:16])
}

func (s *Store) dataPath(k string) string  { return filepath.Join(s.dir, "blobs", k+".data") }
func (s *Store) metaPath(k string) string  { return filepath.Join(s.dir, "blobs", k+".json") }
func (s *Store) blocksDir(k string) string { return filepath.Join(s.dir, "blocks", k) }

// received is a request body saved to a temp file.
type received struct {
	path string
	size int64
	sums Digests // MD5 always; CRC64 when one was to be checked
}

// receive streams r into a temp file, refusing more than limit bytes
// (ErrTooLarge) and a body that does not match want (ErrMD5Mismatch,
// ErrCRC64Mismatch). The caller renames or removes the file; on an error
// nothing is left behind.
func (s *Store) receive(r io.Reader, limit int64, want Digests) (received, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "body-*")
	if err != nil {
		return received{}, err
	}
	sums := newSummer(want)
	size, err := io.Copy(io.MultiWriter(f, sums), io.LimitReader(r, min(limit, math.MaxInt64-1)+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && size > limit {
		err = ErrTooLarge
	}
	got := sums.digests()
	if err == nil {
		err = want.check(got)
	}
	if err != nil {
		os.Remove(f.Name())
		return received{}, err
	}
	return received{path: f.Name(), size: size, sums: got}, nil
}

// Put stores r as the whole blob (Put Blob) with attributes a (its
// ContentMD5 ignored: the MD5 of r is stored); uncommitted blocks are
// discarded, as Azure does. A body over MaxPutBlobBytes or MaxBlobBytes
// is ErrTooLarge; one that does not match want stores nothing.
func (s *Store) Put(container, name string, r io.Reader, a Attrs, want Digests, now time.Time) (Props, error) {
	body, err := s.receive(r, s.cfg.putBlobLimit(), want)
	if err != nil {
		return Props{}, err
	}
	defer os.Remove(body.path)
	p := Props{Container: container, Name: name, Size: body.size, ContentType: a.ContentType, ContentMD5: body.sums.MD5, Metadata: a.Metadata}
	return s.commit(body.path, p, now)
}

// commit installs tmp as the blob's content with props p (ETag and times
// filled in) and drops uncommitted blocks.
func (s *Store) commit(tmp string, p Props, now time.Time) (Props, error) {
	k := key(p.Container, p.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Created, p.Modified = now.UTC(), now.UTC()
	if old, err := s.propsLocked(k); err == nil {
		p.Created = old.Created
	}
	s.seq++
	p.ETag = fmt.Sprintf(`"0x%X"`, uint64(now.UnixNano())+s.seq)
	meta, err := json.Marshal(p)
	if err != nil {
		return Props{}, err
	}
	if err := os.Rename(tmp, s.dataPath(k)); err != nil {
		return Props{}, err
	}
	if err := writeFile(s.metaPath(k), meta); err != nil {
		return Props{}, err
	}
	return p, os.RemoveAll(s.blocksDir(k))
}

// Props returns a committed blob's properties.
func (s *Store) Props(container, name string) (Props, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.propsLocked(key(container, name))
}

func (s *Store) propsLocked(k string) (Props, error) {
	raw, err := os.ReadFile(s.metaPath(k))
	if errors.Is(err, fs.ErrNotExist) {
		return Props{}, ErrBlobNotFound
	}
	if err != nil {
		return Props{}, err
	}
	var p Props
	if err := json.Unmarshal(raw, &p); err != nil {
		return Props{}, fmt.Errorf("blob metadata %s: %w", k, err)
	}
	return p, nil
}

// Open returns the blob's content and properties. The file stays readable
// even if the blob is replaced meanwhile; the caller closes it.
func (s *Store) Open(container, name string) (*os.File, Props, error) {
	k := key(container, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.propsLocked(k)
	if err != nil {
		return nil, Props{}, err
	}
	f, err := os.Open(s.dataPath(k))
	if err != nil {
		return nil, Props{}, err
	}
	return f, p, nil
}

// writeFile writes data to path atomically.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
