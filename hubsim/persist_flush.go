package hubsim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
)

// stateBatch is what one flush writes.
type stateBatch struct {
	next     savedState        // what hub.db holds once the batch is committed
	devices  map[string][]byte // identity -> JSON; nil deletes
	twins    map[string][]byte // identity -> JSON; nil deletes
	events   map[string]uint64 // key -> count to add
	queues   []byte            // nil: unchanged
	feedback []c2d.Feedback    // appended after the saved ones
}

func (b *stateBatch) empty() bool {
	return len(b.devices) == 0 && len(b.twins) == 0 && len(b.events) == 0 && b.queues == nil && len(b.feedback) == 0
}

// flush writes every change since the last flush in one transaction. On
// failure nothing counts as saved and the next flush tries again.
func (p *persister) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.collectLocked()
	if err != nil {
		return err
	}
	if !b.empty() {
		if err := p.db.Update(b.write); err != nil {
			return err
		}
	}
	p.saved = b.next
	clear(p.pending)
	return nil
}

// collectLocked gathers the changes from the stores.
func (p *persister) collectLocked() (*stateBatch, error) {
	b := &stateBatch{next: p.saved, devices: map[string][]byte{}, twins: map[string][]byte{}}
	if err := p.collectDevices(b); err != nil {
		return nil, err
	}
	if err := p.collectTwins(b); err != nil {
		return nil, err
	}
	for _, m := range p.events.DrainJournal() {
		p.pending[m.DeviceID+"\x00"+m.MessageID]++
	}
	b.events = p.pending
	queues, err := p.c2d.Export()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(queues, p.saved.queues) {
		b.queues, b.next.queues = queues, queues
	}
	b.feedback = p.c2d.FeedbackSince(p.saved.feedback)
	b.next.feedback += len(b.feedback)
	return b, nil
}

// collectDevices finds the identities whose etag changed, or that are gone,
// unless the registry's change mark says nothing changed.
func (p *persister) collectDevices(b *stateBatch) error {
	seq, n := p.reg.ChangeMark() // before reading: a later change moves the next mark
	if seq == p.saved.regSeq && n == p.saved.regN {
		return nil
	}
	devs := p.reg.List()
	now := make(map[string]string, len(devs))
	for _, d := range devs {
		now[d.ID] = d.ETag
		if p.saved.devices[d.ID] == d.ETag {
			continue
		}
		d.Connected, d.ConnectionStateUpdatedTime = false, time.Time{} // connection state is not saved
		raw, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("save device %q: %w", d.ID, err)
		}
		b.devices[d.ID] = raw
	}
	for id := range p.saved.devices {
		if _, ok := now[id]; !ok {
			b.devices[id] = nil
		}
	}
	b.next.regSeq, b.next.regN, b.next.devices = seq, n, now
	return nil
}

// collectTwins does for twins what collectDevices does for identities.
func (p *persister) collectTwins(b *stateBatch) error {
	seq, n := p.twins.ChangeMark()
	if seq == p.saved.twinSeq && n == p.saved.twinN {
		return nil
	}
	now := p.twins.ETags()
	for id, etag := range now {
		if p.saved.twins[id] == etag {
			continue
		}
		raw, current, err := p.twins.Export(id)
		if err != nil { // deleted since ETags: gone, like those below
			delete(now, id)
			continue
		}
		now[id], b.twins[id] = current, raw
	}
	for id := range p.saved.twins {
		if _, ok := now[id]; !ok {
			b.twins[id] = nil
		}
	}
	b.next.twinSeq, b.next.twinN, b.next.twins = seq, n, now
	return nil
}

// write applies the batch in tx.
func (b *stateBatch) write(tx *bbolt.Tx) error {
	if err := putAll(tx.Bucket(bucketDevices), b.devices); err != nil {
		return err
	}
	if err := putAll(tx.Bucket(bucketTwins), b.twins); err != nil {
		return err
	}
	events := tx.Bucket(bucketEvents)
	for k, add := range b.events {
		old, _ := binary.Uvarint(events.Get([]byte(k)))
		if err := events.Put([]byte(k), binary.AppendUvarint(nil, old+add)); err != nil {
			return err
		}
	}
	if b.queues != nil {
		if err := tx.Bucket(bucketC2D).Put(keyQueues, b.queues); err != nil {
			return err
		}
	}
	fb := tx.Bucket(bucketFeedback)
	for i, f := range b.feedback {
		raw, err := json.Marshal(f)
		if err != nil {
			return err
		}
		key := binary.BigEndian.AppendUint64(nil, uint64(b.next.feedback-len(b.feedback)+i))
		if err := fb.Put(key, raw); err != nil {
			return err
		}
	}
	return nil
}

// putAll puts every value, deleting keys whose value is nil.
func putAll(bk *bbolt.Bucket, m map[string][]byte) error {
	for k, v := range m {
		var err error
		if v == nil {
			err = bk.Delete([]byte(k))
		} else {
			err = bk.Put([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
