package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Class says what an item is and how it is delivered.
type Class uint8

// Classes in priority order. Alerts drain before reported state and
// reported state before telemetry; uploads are records, not drained by Next.
const (
	ClassAlert     Class = iota + 1 // queued; evicted only when no telemetry remains
	ClassReported                   // one coalesced patch (PutReported); never evicted
	ClassTelemetry                  // queued; evicted oldest first when full
	ClassUpload                     // opaque upload-session records (PutUpload)
)

func (c Class) String() string {
	switch c {
	case ClassAlert:
		return "alert"
	case ClassReported:
		return "reported"
	case ClassTelemetry:
		return "telemetry"
	case ClassUpload:
		return "upload"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// queued reports whether items of class c go through Put, Next and Ack.
func (c Class) queued() bool { return c == ClassAlert || c == ClassTelemetry }

// Item is one queued message.
type Item struct {
	Class      Class
	Seq        uint64 // per store, strictly increasing across restarts; assigned by Put
	ID         string // the caller's message id, stored as given
	Payload    []byte
	Properties map[string]string
	Created    time.Time
}

// Default limits, used where Limits has zero fields.
const (
	DefaultMaxItems       = 100_000
	DefaultMaxBytes int64 = 64 << 20
)

// Limits bound the queued items (alerts and telemetry together).
type Limits struct {
	MaxItems int   // items; 0 means DefaultMaxItems
	MaxBytes int64 // encoded record bytes (key + value); 0 means DefaultMaxBytes
}

func (l Limits) withDefaults() (Limits, error) {
	if l.MaxItems < 0 || l.MaxBytes < 0 {
		return l, fmt.Errorf("outbox limits: MaxItems %d and MaxBytes %d must not be negative", l.MaxItems, l.MaxBytes)
	}
	if l.MaxItems == 0 {
		l.MaxItems = DefaultMaxItems
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l, nil
}

// Stats are the store's counters.
type Stats struct {
	Items   int   // queued alerts and telemetry
	Bytes   int64 // their encoded size
	Alerts  int   // queued alerts (included in Items)
	Evicted int64 // items evicted to make room; persisted
	Corrupt int64 // records that failed to decode and were deleted; persisted
	Put     int64 // items put since Open
	Acked   int64 // items acknowledged (and deleted) since Open
}

var (
	// ErrFull is returned by Put for an item larger than Limits.MaxBytes,
	// which could never fit even in an empty store.
	ErrFull = errors.New("item can never fit in the outbox")
	// ErrClosed is returned after Close, or when the database was closed.
	ErrClosed = errors.New("outbox closed")
)

// Option changes how a store is opened.
type Option func(*options)

type options struct {
	log         *slog.Logger
	openTimeout time.Duration
}

// WithLogger sets the logger for recovery and decode-failure lines.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// DefaultOpenTimeout is how long OpenFile waits for the file lock.
const DefaultOpenTimeout = 5 * time.Second

// WithOpenTimeout sets how long OpenFile waits for another process to
// release the file lock (0: DefaultOpenTimeout).
func WithOpenTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.openTimeout = d
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{log: slog.New(slog.DiscardHandler), openTimeout: DefaultOpenTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Store is one agent's outbox inside a bbolt database.
type Store struct {
	db        *bbolt.DB
	lim       Limits
	log       *slog.Logger
	names     bucketNames
	recovered string // set once by OpenFile

	mu    sync.Mutex // held for every write transaction; guards the fields below
	count [2]int     // queued items: [0] alerts, [1] telemetry
	bytes [2]int64   // their encoded sizes
	seq   uint64     // last Seq assigned
	stats Stats      // Evicted, Corrupt, Put, Acked
	done  bool       // Close was called
}

type bucketNames struct {
	alert, telemetry, upload, meta []byte
}

func namesFor(prefix string) bucketNames {
	return bucketNames{
		alert:     []byte(prefix + "/alert"),
		telemetry: []byte(prefix + "/telemetry"),
		upload:    []byte(prefix + "/upload"),
		meta:      []byte(prefix + "/meta"),
	}
}

func (n bucketNames) queue(c Class) []byte {
	if c == ClassAlert {
		return n.alert
	}
	return n.telemetry
}

// slot indexes Store.count and Store.bytes.
func slot(c Class) int {
	if c == ClassAlert {
		return 0
	}
	return 1
}

// Open returns the store kept under prefix in db, creating its buckets.
// The store does not own db: close the database after the store.
func Open(db *bbolt.DB, prefix string, lim Limits, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("outbox open: nil database")
	}
	if prefix == "" {
		return nil, errors.New("outbox open: empty bucket prefix")
	}
	lim, err := lim.withDefaults()
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	s := &Store{db: db, lim: lim, log: o.log.With("prefix", prefix), names: namesFor(prefix)}
	err = guard(func() error {
		return db.Update(func(tx *bbolt.Tx) error {
			for _, name := range [][]byte{s.names.alert, s.names.telemetry, s.names.upload, s.names.meta} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("bucket %q: %w", name, err)
				}
			}
			return s.loadLocked(tx)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox open %q: %w", prefix, closedErr(err))
	}
	return s, nil
}

// loadLocked counts the queued items and reads the persisted counters.
// The Store is not shared yet, so s.mu need not be held.
func (s *Store) loadLocked(tx *bbolt.Tx) error {
	meta := tx.Bucket(s.names.meta)
	s.seq = getUint(meta, keySeq)
	for _, c := range []Class{ClassAlert, ClassTelemetry} {
		cur := tx.Bucket(s.names.queue(c)).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			s.count[slot(c)]++
			s.bytes[slot(c)] += recordSize(k, v)
		}
		// The last key bounds the sequence even if the counter was lost.
		if k, _ := cur.Last(); len(k) == 8 {
			s.seq = max(s.seq, binary.BigEndian.Uint64(k))
		}
	}
	s.stats.Evicted = int64(getUint(meta, keyEvicted))
	s.stats.Corrupt = int64(getUint(meta, keyCorrupt))
	return nil
}

// Close makes later calls return ErrClosed. It does not close the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	return nil
}

// Recovered is "" or a description of the corrupt file OpenFile set aside.
func (s *Store) Recovered() string { return s.recovered }

// Len returns the number and encoded size of queued alerts and telemetry.
func (s *Store) Len() (items int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[0] + s.count[1], s.bytes[0] + s.bytes[1]
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Items, st.Bytes = s.count[0]+s.count[1], s.bytes[0]+s.bytes[1]
	st.Alerts = s.count[0]
	return st
}

// update runs fn in a write transaction while holding s.mu; fn may change
// the in-memory state only through the returned commit func, which runs
// after a successful commit. A bbolt panic on a damaged page becomes an
// error (the transaction is rolled back), so the agent does not crash.
func (s *Store) update(op string, fn func(tx *bbolt.Tx) (commit func(), err error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return fmt.Errorf("outbox %s: %w", op, ErrClosed)
	}
	var commit func()
	err := guard(func() error {
		return s.db.Update(func(tx *bbolt.Tx) error {
			var err error
			commit, err = fn(tx)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("outbox %s: %w", op, closedErr(err))
	}
	if commit != nil {
		commit()
	}
	return nil
}

// view runs fn in a read transaction.
func (s *Store) view(op string, fn func(tx *bbolt.Tx) error) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done {
		return fmt.Errorf("outbox %s: %w", op, ErrClosed)
	}
	if err := guard(func() error { return s.db.View(fn) }); err != nil {
		return fmt.Errorf("outbox %s: %w", op, closedErr(err))
	}
	return nil
}

// closedErr maps bbolt's "database not open" to ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// Keys in the meta bucket.
var (
	keySeq         = []byte("seq")
	keyBoot        = []byte("boot")
	keyEvicted     = []byte("evicted")
	keyCorrupt     = []byte("corrupt")
	keyReported    = []byte("reported")
	keyReportedGen = []byte("reported-gen")
)

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func getUint(b *bbolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putUint(b *bbolt.Bucket, key []byte, v uint64) error {
	return b.Put(key, binary.BigEndian.AppendUint64(nil, v))
}

func recordSize(k, v []byte) int64 { return int64(len(k) + len(v)) }
