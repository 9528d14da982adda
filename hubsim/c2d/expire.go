package c2d

import (
	"slices"
	"time"
)

// Tick applies time: expired messages leave with Expired feedback, expired
// locks make their message available again, or dead-letter it once it was
// delivered MaxDeliveryCount times. It returns the devices that have a
// message available, for the caller to deliver.
func (s *Store) Tick(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ready []string
	for dev := range s.queues {
		if s.expireLocked(dev, now) {
			ready = append(ready, dev)
		}
	}
	return ready
}

// expireLocked applies time to one queue and reports whether it has an
// available message afterwards.
func (s *Store) expireLocked(deviceID string, now time.Time) bool {
	q := s.queues[deviceID]
	kept := q[:0]
	available := false
	for _, e := range q {
		if st, desc, gone := s.outcome(e, now); gone {
			s.recordLocked(deviceID, e, st, desc, now)
			continue
		}
		kept = append(kept, e)
		available = available || e.lockedUntil.IsZero()
	}
	clear(q[len(kept):])
	s.setQueueLocked(deviceID, kept)
	return available
}

// outcome says whether e leaves its queue at now, and why. An expired lock
// of a message that may be delivered again is released.
func (s *Store) outcome(e *entry, now time.Time) (st Status, desc string, gone bool) {
	if !now.Before(e.expires) {
		return StatusExpired, "message expired", true
	}
	if e.lockedUntil.IsZero() || now.Before(e.lockedUntil) {
		return "", "", false
	}
	if e.deliveries >= s.cfg.MaxDeliveryCount {
		return StatusDeliveryCountExceeded, "delivered without acknowledgement too often", true
	}
	e.lockedUntil, e.token = time.Time{}, 0
	return "", "", false
}

// removeLocked drops entry i of the device's queue with outcome st.
func (s *Store) removeLocked(deviceID string, i int, st Status, desc string, now time.Time) {
	q := s.queues[deviceID]
	s.recordLocked(deviceID, q[i], st, desc, now)
	s.setQueueLocked(deviceID, slices.Delete(q, i, i+1))
}

func (s *Store) setQueueLocked(deviceID string, q []*entry) {
	if len(q) == 0 {
		delete(s.queues, deviceID)
		return
	}
	s.queues[deviceID] = q
}

// recordLocked records feedback for e's outcome if its ack mode asks for it.
func (s *Store) recordLocked(deviceID string, e *entry, st Status, desc string, now time.Time) {
	if e.msg.Ack.wants(st) {
		s.feedback = append(s.feedback, Feedback{OriginalMessageID: e.msg.MessageID, EnqueuedTimeUTC: now.UTC(),
			StatusCode: st, Description: desc, DeviceID: deviceID, DeviceGenerationID: e.genID})
	}
}

// NextDeadline is the earliest time Tick has something to do (a lock or a
// message expiring); ok is false when every queue is empty.
func (s *Store) NextDeadline() (t time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		for _, e := range q {
			d := e.expires
			if !e.lockedUntil.IsZero() && e.lockedUntil.Before(d) {
				d = e.lockedUntil
			}
			if !ok || d.Before(t) {
				t, ok = d, true
			}
		}
	}
	return t, ok
}

// Purge removes every message of a device (it was deleted) and returns how
// many there were.
func (s *Store) Purge(deviceID string, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.queues[deviceID])
	for len(s.queues[deviceID]) > 0 {
		s.removeLocked(deviceID, 0, StatusPurged, "device purged", now)
	}
	return n
}

// Len returns how many messages the device has queued, locked included.
func (s *Store) Len(deviceID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queues[deviceID])
}

// Feedback returns a copy of every feedback record so far, oldest first.
func (s *Store) Feedback() []Feedback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Feedback(nil), s.feedback...)
}
