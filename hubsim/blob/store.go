package blob

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultMaxBlobBytes bounds one blob or block when Store is given 0.
const DefaultMaxBlobBytes = 256 << 20

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
}

// Block is one block of a blob: its ID (base64, as sent) and size.
type Block struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// Store keeps blobs on disk under a directory:
//
//	{dir}/blobs/{key}.data   committed content
//	{dir}/blobs/{key}.json   Props
//	{dir}/blocks/{key}/{hex} uncommitted blocks, by hex of the decoded ID
//	{dir}/tmp/               bodies being received
//
// where key is a hash of container/name, so any blob name is a safe file
// name. Bodies stream into tmp/ without the lock; the lock covers only
// renames and metadata, so uploads run in parallel. Safe for concurrent use.
type Store struct {
	dir     string
	maxSize int64

	mu  sync.Mutex // guards the files under blobs/ and blocks/, and seq
	seq uint64
}

// NewStore opens (creating if needed) a store in dir; maxSize bounds a blob
// or block in bytes (0 = DefaultMaxBlobBytes).
func NewStore(dir string, maxSize int64) (*Store, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxBlobBytes
	}
	for _, sub := range []string{"blobs", "blocks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	return &Store{dir: dir, maxSize: maxSize}, nil
}

func key(container, name string) string {
	sum := sha256.Sum256([]byte(container + "/" + name))
	return hex.EncodeToString(sum[:16])
}

func (s *Store) dataPath(k string) string  { return filepath.Join(s.dir, "blobs", k+".data") }
func (s *Store) metaPath(k string) string  { return filepath.Join(s.dir, "blobs", k+".json") }
func (s *Store) blocksDir(k string) string { return filepath.Join(s.dir, "blocks", k) }

// receive streams r into a temp file (at most maxSize bytes) and returns
// its path, size and MD5. The caller renames or removes it.
func (s *Store) receive(r io.Reader) (path string, size int64, sum []byte, err error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "body-*")
	if err != nil {
		return "", 0, nil, err
	}
	h := md5.New()
	size, err = io.Copy(io.MultiWriter(f, h), io.LimitReader(r, s.maxSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && size > s.maxSize {
		err = ErrTooLarge
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, nil, err
	}
	return f.Name(), size, h.Sum(nil), nil
}

// Put stores r as the whole blob (Put Blob); uncommitted blocks are
// discarded, as Azure does.
func (s *Store) Put(container, name string, r io.Reader, contentType string, now time.Time) (Props, error) {
	tmp, size, sum, err := s.receive(r)
	if err != nil {
		return Props{}, err
	}
	defer os.Remove(tmp)
	p := Props{Container: container, Name: name, Size: size, ContentType: contentType, ContentMD5: sum}
	return s.commit(tmp, p, now)
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
