package blob

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// BlockRef is one entry of a Put Block List body: which block, and where to
// look for it (Committed, Uncommitted or Latest: uncommitted first).
type BlockRef struct {
	ID   string // base64, as sent
	Kind string // "Committed", "Uncommitted" or "Latest"
}

// MaxBlocks is the most blocks a blob may commit (Azure's limit).
const MaxBlocks = 50000

// PutBlock stores an uncommitted block; a block with the same ID replaces
// the earlier one. A body over the block limit is ErrTooLarge; one that
// does not match want stages nothing. It returns the body's digests.
func (s *Store) PutBlock(container, name, id string, r io.Reader, want Digests) (Digests, error) {
	raw, err := DecodeBlockID(id)
	if err != nil {
		return Digests{}, err
	}
	body, err := s.receive(r, s.cfg.blockLimit(), want)
	if err != nil {
		return Digests{}, err
	}
	defer os.Remove(body.path)
	k := key(container, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.blocksDir(k), 0o700); err != nil {
		return Digests{}, err
	}
	return body.sums, os.Rename(body.path, filepath.Join(s.blocksDir(k), hex.EncodeToString(raw)))
}

// BlockLists returns the committed blocks (in order) and the uncommitted
// ones (by ID). ErrBlobNotFound when the blob has neither.
func (s *Store) BlockLists(container, name string) (committed, uncommitted []Block, err error) {
	k := key(container, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, perr := s.propsLocked(k)
	if perr != nil && !errors.Is(perr, ErrBlobNotFound) {
		return nil, nil, perr
	}
	uncommitted, err = s.uncommittedLocked(k)
	if err != nil {
		return nil, nil, err
	}
	if perr != nil && len(uncommitted) == 0 {
		return nil, nil, ErrBlobNotFound
	}
	return p.Blocks, uncommitted, nil
}

func (s *Store) uncommittedLocked(k string) ([]Block, error) {
	entries, err := os.ReadDir(s.blocksDir(k))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Block
	for _, e := range entries {
		raw, err := hex.DecodeString(e.Name())
		info, ierr := e.Info()
		if err != nil || ierr != nil {
			continue
		}
		out = append(out, Block{ID: base64.StdEncoding.EncodeToString(raw), Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// source is where one block of a new block list comes from.
type source struct {
	block  Block
	file   string // uncommitted block file, or the current blob content
	offset int64  // within file
}

// CommitBlockList makes the blob the concatenation of refs (Put Block
// List) with attributes a, and discards every uncommitted block. A blob
// over MaxBlobBytes is ErrBlobTooLarge, and leaves the blocks staged.
func (s *Store) CommitBlockList(container, name string, refs []BlockRef, a Attrs, now time.Time) (Props, error) {
	if len(refs) > MaxBlocks {
		return Props{}, ErrInvalidList
	}
	k := key(container, name)
	s.mu.Lock()
	srcs, err := s.resolveLocked(k, refs)
	var tmp string
	var size int64
	if err == nil {
		tmp, size, err = s.concatLocked(srcs)
	}
	s.mu.Unlock() // commit takes the lock again; blocks are re-read only by a later commit
	if err != nil {
		return Props{}, err
	}
	defer os.Remove(tmp)
	p := Props{Container: container, Name: name, Size: size, ContentType: a.ContentType, ContentMD5: a.ContentMD5, Metadata: a.Metadata}
	for _, src := range srcs {
		p.Blocks = append(p.Blocks, src.block)
	}
	return s.commit(tmp, p, now)
}

// resolveLocked finds each referenced block.
func (s *Store) resolveLocked(k string, refs []BlockRef) ([]source, error) {
	old, err := s.propsLocked(k)
	if err != nil && !errors.Is(err, ErrBlobNotFound) {
		return nil, err
	}
	committed := map[string]source{}
	var off int64
	for _, b := range old.Blocks {
		committed[b.ID] = source{block: b, file: s.dataPath(k), offset: off}
		off += b.Size
	}
	out := make([]source, 0, len(refs))
	for _, ref := range refs {
		raw, err := DecodeBlockID(ref.ID)
		if err != nil {
			return nil, ErrInvalidList
		}
		path := filepath.Join(s.blocksDir(k), hex.EncodeToString(raw))
		info, statErr := os.Stat(path)
		c, isCommitted := committed[ref.ID]
		switch {
		case ref.Kind != "Committed" && statErr == nil:
			out = append(out, source{block: Block{ID: ref.ID, Size: info.Size()}, file: path})
		case ref.Kind != "Uncommitted" && isCommitted:
			out = append(out, c)
		default:
			return nil, ErrInvalidList
		}
	}
	return out, nil
}

// concatLocked writes the blocks in order into a new temp file.
func (s *Store) concatLocked(srcs []source) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "list-*")
	if err != nil {
		return "", 0, err
	}
	var total int64
	for _, src := range srcs {
		if total += src.block.Size; total > s.cfg.MaxBlobBytes {
			err = ErrBlobTooLarge
			break
		}
		if err = copyRange(f, src); err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, err
	}
	return f.Name(), total, nil
}

func copyRange(w io.Writer, src source) error {
	in, err := os.Open(src.file)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(w, io.NewSectionReader(in, src.offset, src.block.Size))
	return err
}
