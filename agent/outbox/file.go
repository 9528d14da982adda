package outbox

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// OpenFile opens (creating with mode 0600) the bbolt database at path and
// the store under prefix in it. If the file is corrupt or unreadable it is
// renamed to path+".corrupt-<unix seconds>" and a fresh database is
// started: the agent must never crash-loop on its own state. Recovered then
// describes what happened, so the agent can raise an alert. A file locked by
// another process is not corrupt: OpenFile waits for the lock (see
// WithOpenTimeout) and then returns an error. The caller closes the
// returned database after the store.
func OpenFile(path string, prefix string, lim Limits, log *slog.Logger, opts ...Option) (*Store, *bbolt.DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := buildOptions(append([]Option{WithLogger(log)}, opts...))
	db, problem, err := openChecked(path, o.openTimeout)
	if err != nil {
		return nil, nil, err
	}
	recovered := ""
	if problem != nil {
		aside, err := moveAside(path, time.Now())
		if err != nil {
			return nil, nil, fmt.Errorf("outbox open %s: file is unreadable (%v) and could not be set aside: %w", path, problem, err)
		}
		recovered = fmt.Sprintf("outbox file %s was unreadable (%v); moved it to %s and started an empty outbox", path, problem, aside)
		log.Error("outbox: set aside an unreadable database file and started an empty one",
			"path", path, "movedTo", aside, "err", problem)
		if db, problem, err = openChecked(path, o.openTimeout); err != nil || problem != nil {
			return nil, nil, fmt.Errorf("outbox open %s: fresh file after setting the old one aside: %w", path, errors.Join(err, problem))
		}
	}
	s, err := Open(db, prefix, lim, WithLogger(log))
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	s.recovered = recovered
	return s, db, nil
}

// openChecked opens path read-write after checking an existing file. It
// returns problem (and no database) if the file is corrupt or unreadable,
// and err for anything setting the file aside cannot fix.
func openChecked(path string, timeout time.Duration) (db *bbolt.DB, problem, err error) {
	fi, err := os.Stat(path)
	existed := err == nil && fi.Size() > 0
	switch {
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, nil, fmt.Errorf("outbox open %s: %w", path, err)
	case err == nil && !fi.Mode().IsRegular():
		return nil, nil, fmt.Errorf("outbox open %s: not a regular file (%v)", path, fi.Mode())
	}
	if existed {
		if problem, err := checkFile(path, timeout); err != nil || problem != nil {
			return nil, problem, err
		}
	}
	db, err = openBolt(path, &bbolt.Options{Timeout: timeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, lockedErr(path, timeout)
	case err != nil && existed:
		return nil, err, nil
	case err != nil:
		return nil, nil, fmt.Errorf("outbox open %s: %w", path, err)
	}
	if !existed {
		syncDir(filepath.Dir(path))
	}
	return db, nil, nil
}

func lockedErr(path string, timeout time.Duration) error {
	return fmt.Errorf("outbox open %s: still locked by another process after %v: %w", path, timeout, berrors.ErrTimeout)
}

// checkFile opens path read-only (touching only the meta pages), then
// checks that the file holds every page the meta page claims and reads
// every key and value, so that truncation or a damaged page shows up here
// rather than as a crash later.
func checkFile(path string, timeout time.Duration) (problem, err error) {
	db, problem := openBolt(path, &bbolt.Options{Timeout: timeout, ReadOnly: true})
	if errors.Is(problem, berrors.ErrTimeout) {
		return nil, lockedErr(path, timeout)
	}
	if problem != nil {
		return problem, nil
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return err, nil
	}
	return guard(func() error {
		return db.View(func(tx *bbolt.Tx) error {
			if tx.Size() > fi.Size() {
				return fmt.Errorf("file is %d bytes, its pages need %d (truncated)", fi.Size(), tx.Size())
			}
			var sum byte
			err := tx.ForEach(func(name []byte, b *bbolt.Bucket) error { return walk(b, &sum) })
			runtime.KeepAlive(sum)
			return err
		})
	}), nil
}

// walk reads every key and every page of every value under b, nested
// buckets included, folding the bytes it reads into sum.
func walk(b *bbolt.Bucket, sum *byte) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				return walk(sub, sum)
			}
			return nil
		}
		for i := 0; i < len(v); i += 4096 {
			*sum ^= v[i]
		}
		if len(v) > 0 {
			*sum ^= v[len(v)-1]
		}
		return nil
	})
}

// openBolt opens a bbolt database under guard. If bbolt panics half-way
// (a damaged freelist page, say), the file it opened is closed here, so
// the lock on it is released.
func openBolt(path string, opts *bbolt.Options) (*bbolt.DB, error) {
	var file *os.File
	opts.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, mode)
		file = f
		return f, err
	}
	var db *bbolt.DB
	err := guard(func() (err error) {
		db, err = bbolt.Open(path, 0o600, opts)
		return err
	})
	if err != nil && db == nil && file != nil {
		_ = file.Close() // bbolt may have closed it already
	}
	return db, err
}

// guard runs fn, turning a panic, or a memory fault on a damaged mapped
// file, into an error.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("database is damaged: %v", r)
		}
	}()
	return fn()
}

// moveAside renames path to path+".corrupt-<unix seconds>" (with a counter
// if that name is taken) and returns the new name.
func moveAside(path string, now time.Time) (string, error) {
	base := fmt.Sprintf("%s.corrupt-%d", path, now.Unix())
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); err != nil {
			break // free (or unknowable: then Rename says why)
		}
		aside = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, aside); err != nil {
		return "", err
	}
	syncDir(filepath.Dir(path))
	return aside, nil
}

// syncDir makes a file creation or rename in dir durable. Best effort:
// Windows cannot open a directory for sync, and the store still works.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
