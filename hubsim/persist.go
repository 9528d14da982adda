package hubsim

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// Persistence. With Config.StateDir the hub keeps StateDir/hub.db (bbolt):
//
//	meta       "schema" -> stateSchema
//	devices    identity -> registry.Device as JSON (connection state left out)
//	twins      identity -> twinstore Export JSON (versions, etag, $metadata)
//	events     "{device}\x00{messageId}" -> times recorded (uvarint); an
//	           empty message id counts the device's messages without one
//	c2d        "queues" -> c2d Export JSON (locks are not kept)
//	feedback   big-endian index -> c2d.Feedback as JSON, append-only
//
// Writes are batched, not write-through: the stores stay pure and the
// device read path pays nothing but the event log's journal append. One
// goroutine owned by the hub flushes every StateFlushInterval, in one
// transaction: the registry and twins whose etag changed (found by
// comparing ChangeMarks, then etags), the event counts journaled since the
// last flush, the C2D queues if their saved bytes differ, and new feedback.
// Close flushes what is left. A process killed without Close loses at most
// the last interval; the hub acknowledges before it persists (the real IoT
// Hub does not), which a lab accepts. Event bodies are not kept: counts and
// message ids are, so loss and duplicate counting survive a restart.

// DefaultStateFlushInterval is how often a hub with a StateDir writes its
// changes when Config.StateFlushInterval is zero.
const DefaultStateFlushInterval = 200 * time.Millisecond

const (
	stateFile        = "hub.db"
	stateSchema      = "1"
	stateOpenTimeout = 2 * time.Second // waiting for another hub to let go of hub.db
)

var (
	bucketMeta     = []byte("meta")
	bucketDevices  = []byte("devices")
	bucketTwins    = []byte("twins")
	bucketEvents   = []byte("events")
	bucketC2D      = []byte("c2d")
	bucketFeedback = []byte("feedback")
	keySchema      = []byte("schema")
	keyQueues      = []byte("queues")
)

// persister keeps the hub's state in hub.db. Its goroutine is owned by the
// Hub: started by Start, stopped (after a last flush) by Close.
type persister struct {
	db       *bbolt.DB
	reg      *registry.Registry
	twins    *twinstore.Store
	events   *eventlog.Log
	c2d      *c2d.Store
	interval time.Duration
	log      *slog.Logger

	quit, done chan struct{}
	startOnce  sync.Once
	stopOnce   sync.Once
	started    bool // the goroutine was started; written in startOnce

	mu       sync.Mutex // serialises flushes; guards what hub.db holds, below
	saved    savedState
	pending  map[string]uint64 // event counts drained from the journal, not yet committed
	failures int               // flushes failed in a row, for the log
}

// savedState describes what hub.db holds, to find what changed.
type savedState struct {
	regSeq, twinSeq uint64
	regN, twinN     int
	devices, twins  map[string]string // identity -> etag
	queues          []byte
	feedback        int
}

// openState opens StateDir/hub.db and restores the hub's stores from it;
// nil without a StateDir. New calls it once the stores exist.
func openState(h *Hub) (*persister, error) {
	if h.cfg.StateDir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(h.cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("hub state: %w", err)
	}
	path := filepath.Join(h.cfg.StateDir, stateFile)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: stateOpenTimeout})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			err = fmt.Errorf("%w (is another hub running on this state directory?)", err)
		}
		return nil, fmt.Errorf("hub state %s: %w", path, err)
	}
	p := &persister{db: db, reg: h.registry, twins: h.twins, events: h.events, c2d: h.c2d,
		interval: h.cfg.StateFlushInterval, log: h.cfg.Logger.With("subsystem", "state"),
		quit: make(chan struct{}), done: make(chan struct{}), pending: map[string]uint64{}}
	if p.interval <= 0 {
		p.interval = DefaultStateFlushInterval
	}
	if err := p.restore(); err != nil {
		db.Close()
		return nil, fmt.Errorf("hub state %s: %w", path, err)
	}
	h.events.StartJournal()
	return p, nil
}

// restore creates the buckets of a new file, or loads an existing one into
// the stores.
func (p *persister) restore() error {
	return p.db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketDevices, bucketTwins, bucketEvents, bucketC2D, bucketFeedback} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySchema); v != nil && string(v) != stateSchema {
			return fmt.Errorf("schema %q, this hub reads %q", v, stateSchema)
		}
		if err := meta.Put(keySchema, []byte(stateSchema)); err != nil {
			return err
		}
		return errors.Join(p.loadDevices(tx), p.loadTwins(tx), p.loadEvents(tx), p.loadC2D(tx))
	})
}

func (p *persister) loadDevices(tx *bbolt.Tx) error {
	var devs []registry.Device
	err := tx.Bucket(bucketDevices).ForEach(func(k, v []byte) error {
		var d registry.Device
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("device %q: %w", k, err)
		}
		devs = append(devs, d)
		return nil
	})
	p.reg.Restore(devs...)
	p.saved.devices = make(map[string]string, len(devs))
	for _, d := range p.reg.List() {
		p.saved.devices[d.ID] = d.ETag
	}
	p.saved.regSeq, p.saved.regN = p.reg.ChangeMark()
	return err
}

func (p *persister) loadTwins(tx *bbolt.Tx) error {
	err := tx.Bucket(bucketTwins).ForEach(func(k, v []byte) error {
		return p.twins.Import(string(k), v)
	})
	p.saved.twins = p.twins.ETags()
	p.saved.twinSeq, p.saved.twinN = p.twins.ChangeMark()
	return err
}

func (p *persister) loadEvents(tx *bbolt.Tx) error {
	var counts []eventlog.Count
	err := tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		n, size := binary.Uvarint(v)
		dev, mid, ok := strings.Cut(string(k), "\x00")
		if size <= 0 || !ok {
			return fmt.Errorf("event count %q: malformed", k)
		}
		counts = append(counts, eventlog.Count{DeviceID: dev, MessageID: mid, N: int64(n)})
		return nil
	})
	p.events.Restore(counts)
	return err
}

func (p *persister) loadC2D(tx *bbolt.Tx) error {
	var fb []c2d.Feedback
	err := tx.Bucket(bucketFeedback).ForEach(func(k, v []byte) error {
		var f c2d.Feedback
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("c2d feedback %x: %w", k, err)
		}
		fb = append(fb, f)
		return nil
	})
	queues := tx.Bucket(bucketC2D).Get(keyQueues)
	p.saved.queues = append([]byte(nil), queues...)
	p.saved.feedback = len(fb)
	return errors.Join(err, p.c2d.Import(queues, fb))
}

// start runs the flush goroutine (nil-safe: no StateDir, no goroutine).
func (p *persister) start() {
	if p == nil {
		return
	}
	p.startOnce.Do(func() {
		p.started = true
		go p.run()
	})
}

func (p *persister) run() {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.flushLogged()
		}
	}
}

// close stops the goroutine, writes what is left and closes hub.db; it is
// idempotent and nil-safe.
func (p *persister) close() error {
	if p == nil {
		return nil
	}
	var err error
	p.stopOnce.Do(func() {
		p.startOnce.Do(func() {}) // no goroutine may start now
		close(p.quit)
		if p.started {
			<-p.done
		}
		err = errors.Join(p.flush(), p.db.Close())
		if err != nil {
			err = fmt.Errorf("hub state: %w", err)
		}
	})
	return err
}

// flushLogged flushes and logs a failure (the next flush retries).
func (p *persister) flushLogged() {
	err := p.flush()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.failures = 0
		return
	}
	if p.failures++; p.failures == 1 || p.failures%100 == 0 {
		p.log.Warn("writing hub state failed; will retry", "failures", p.failures, "err", err)
	}
}
