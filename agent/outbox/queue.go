package outbox

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"
)

// queueFill packs queue pages full: keys only ever grow, so pages are
// appended to and never split in the middle.
const queueFill = 1.0

// Put commits it and returns it with its Seq assigned; the item is durable
// when Put returns. If the store is full, Put evicts as the package doc
// describes. It returns ErrFull only for an item larger than
// Limits.MaxBytes.
func (s *Store) Put(it Item) (Item, error) {
	out, err := s.PutMany([]Item{it})
	if err != nil {
		return Item{}, err
	}
	return out[0], nil
}

// PutMany commits items in one transaction (one fsync), in order, and
// returns them with their Seqs assigned. Either all are committed or none.
func (s *Store) PutMany(items []Item) ([]Item, error) {
	for i, it := range items {
		if !it.Class.queued() {
			return nil, fmt.Errorf("outbox put: %s: class %v is not queued (use PutReported or PutUpload)", itemName(items, i), it.Class)
		}
		if size := encodedSize(it); size > s.lim.MaxBytes {
			return nil, fmt.Errorf("outbox put: %s is %d bytes, over the %d-byte limit: %w", itemName(items, i), size, s.lim.MaxBytes, ErrFull)
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]Item, len(items))
	err := s.update("put", func(tx *bbolt.Tx) (func(), error) {
		w := s.newWriterLocked(tx)
		for i, it := range items {
			var err error
			if out[i], err = w.put(it); err != nil {
				return nil, fmt.Errorf("%s: %w", itemName(items, i), err)
			}
		}
		if err := w.finish(); err != nil {
			return nil, err
		}
		return func() { w.applyLocked(int64(len(items)), 0) }, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func itemName(items []Item, i int) string {
	if len(items) == 1 {
		return fmt.Sprintf("item %q", items[0].ID)
	}
	return fmt.Sprintf("item %d (%q)", i, items[i].ID)
}

// writer changes the queue inside one write transaction, keeping copies of
// the counters that applyLocked copies back after the commit.
type writer struct {
	s       *Store
	tx      *bbolt.Tx
	count   [2]int
	bytes   [2]int64
	seq     uint64
	evicted int64
	corrupt int64
}

func (s *Store) newWriterLocked(tx *bbolt.Tx) *writer {
	return &writer{s: s, tx: tx, count: s.count, bytes: s.bytes, seq: s.seq,
		evicted: s.stats.Evicted, corrupt: s.stats.Corrupt}
}

func (w *writer) bucket(c Class) *bbolt.Bucket {
	b := w.tx.Bucket(w.s.names.queue(c))
	b.FillPercent = queueFill
	return b
}

func (w *writer) put(it Item) (Item, error) {
	size := encodedSize(it)
	lim := w.s.lim
	for w.count[0]+w.count[1]+1 > lim.MaxItems || w.bytes[0]+w.bytes[1]+size > lim.MaxBytes {
		if err := w.evictOldest(); err != nil {
			return Item{}, err
		}
	}
	w.seq++
	it.Seq = w.seq
	if err := w.bucket(it.Class).Put(seqKey(it.Seq), encodeRecord(nil, it)); err != nil {
		return Item{}, err
	}
	w.count[slot(it.Class)]++
	w.bytes[slot(it.Class)] += size
	return it, nil
}

// evictOldest deletes the oldest telemetry item, or the oldest alert if no
// telemetry remains.
func (w *writer) evictOldest() error {
	for _, c := range []Class{ClassTelemetry, ClassAlert} {
		b := w.bucket(c)
		k, v := b.Cursor().First()
		if k == nil {
			w.count[slot(c)], w.bytes[slot(c)] = 0, 0 // resync a count that drifted
			continue
		}
		size := recordSize(k, v)
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("evict %v %x: %w", c, k, err)
		}
		w.count[slot(c)]--
		w.bytes[slot(c)] -= size
		w.evicted++
		return nil
	}
	return nil // empty: the item fits now
}

// finish persists the counters the transaction changed.
func (w *writer) finish() error {
	meta := w.tx.Bucket(w.s.names.meta)
	if w.seq != w.s.seq {
		if err := putUint(meta, keySeq, w.seq); err != nil {
			return err
		}
	}
	if w.evicted != w.s.stats.Evicted {
		if err := putUint(meta, keyEvicted, uint64(w.evicted)); err != nil {
			return err
		}
	}
	if w.corrupt != w.s.stats.Corrupt {
		return putUint(meta, keyCorrupt, uint64(w.corrupt))
	}
	return nil
}

func (w *writer) applyLocked(put, acked int64) {
	s := w.s
	s.count, s.bytes, s.seq = w.count, w.bytes, w.seq
	s.stats.Evicted, s.stats.Corrupt = w.evicted, w.corrupt
	s.stats.Put += put
	s.stats.Acked += acked
}

// Next returns up to n of the oldest queued items, alerts first, then
// telemetry, each class in Seq order, without removing them. Records that
// fail to decode are skipped, deleted, counted and logged.
func (s *Store) Next(n int) ([]Item, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []Item
	var bad []badRecord
	err := s.view("next", func(tx *bbolt.Tx) error {
		out, bad = out[:0], bad[:0]
		for _, c := range []Class{ClassAlert, ClassTelemetry} {
			cur := tx.Bucket(s.names.queue(c)).Cursor()
			for k, v := cur.First(); k != nil && len(out) < n; k, v = cur.Next() {
				it, err := decodeRecord(v)
				if err == nil && len(k) != 8 {
					err = fmt.Errorf("key of %d bytes, want 8", len(k))
				}
				if err != nil {
					bad = append(bad, badRecord{class: c, key: slices.Clone(k), size: len(v), err: err})
					continue
				}
				it.Class, it.Seq = c, binary.BigEndian.Uint64(k)
				out = append(out, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		s.dropCorrupt(bad)
	}
	return out, nil
}

type badRecord struct {
	class Class
	key   []byte
	size  int
	err   error
}

// dropCorrupt deletes records that failed to decode. A failure is logged,
// not returned: the good items are still worth sending, and the next call
// tries again.
func (s *Store) dropCorrupt(bad []badRecord) {
	err := s.update("drop corrupt record", func(tx *bbolt.Tx) (func(), error) {
		w := s.newWriterLocked(tx)
		var dropped []badRecord
		for _, r := range bad {
			b := w.bucket(r.class)
			v := b.Get(r.key)
			if v == nil {
				continue // acked meanwhile
			}
			size := recordSize(r.key, v)
			if err := b.Delete(r.key); err != nil {
				return nil, err
			}
			w.count[slot(r.class)]--
			w.bytes[slot(r.class)] -= size
			w.corrupt++
			dropped = append(dropped, r)
		}
		if err := w.finish(); err != nil {
			return nil, err
		}
		return func() {
			w.applyLocked(0, 0)
			for _, r := range dropped {
				s.log.Error("outbox: deleted a record that failed to decode",
					"class", r.class.String(), "key", hex.EncodeToString(r.key), "bytes", r.size, "err", r.err)
			}
		}, nil
	})
	if err != nil {
		s.log.Error("outbox: could not delete records that failed to decode", "records", len(bad), "err", err)
	}
}

// Ack deletes the item after the hub acknowledged it. Acking a Seq that is
// not queued (already acked, or evicted) is not an error.
func (s *Store) Ack(class Class, seq uint64) error {
	return s.AckMany([]Item{{Class: class, Seq: seq}})
}

// AckMany deletes the given items (only Class and Seq are used) in one
// transaction.
func (s *Store) AckMany(items []Item) error {
	for _, it := range items {
		if !it.Class.queued() {
			return fmt.Errorf("outbox ack: seq %d: class %v is not queued (use AckReported or DeleteUpload)", it.Seq, it.Class)
		}
	}
	if len(items) == 0 {
		return nil
	}
	return s.update("ack", func(tx *bbolt.Tx) (func(), error) {
		w := s.newWriterLocked(tx)
		var acked int64
		for _, it := range items {
			b := w.bucket(it.Class)
			k := seqKey(it.Seq)
			v := b.Get(k)
			if v == nil {
				continue
			}
			size := recordSize(k, v)
			if err := b.Delete(k); err != nil {
				return nil, fmt.Errorf("%v seq %d: %w", it.Class, it.Seq, err)
			}
			w.count[slot(it.Class)]--
			w.bytes[slot(it.Class)] -= size
			acked++
		}
		return func() { w.applyLocked(0, acked) }, nil
	})
}
