package c2d

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// savedMessage is one queued message as Export writes it.
type savedMessage struct {
	DeviceID   string    `json:"device"`
	GenID      string    `json:"gen,omitempty"`
	Enqueued   time.Time `json:"enqueued"`
	Expires    time.Time `json:"expires"`
	Deliveries int       `json:"deliveries,omitempty"`
	Message    Message   `json:"message"`
}

// Export returns every queued message as saved state (JSON), devices in ID
// order and each queue oldest first, so equal queues give equal bytes.
// Locks are not saved: a hub that starts again has no delivery in flight,
// so Import makes every message available at once, keeping its delivery
// count. Feedback records are saved apart (FeedbackSince).
func (s *Store) Export() ([]byte, error) {
	s.mu.Lock()
	devs := make([]string, 0, len(s.queues))
	for dev := range s.queues {
		devs = append(devs, dev)
	}
	sort.Strings(devs)
	var out []savedMessage
	for _, dev := range devs {
		for _, e := range s.queues[dev] {
			out = append(out, savedMessage{DeviceID: dev, GenID: e.genID, Enqueued: e.enqueued,
				Expires: e.expires, Deliveries: e.deliveries, Message: e.msg})
		}
	}
	raw, err := json.Marshal(out) // under the lock: the messages' maps are shared with the store
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("export c2d queues: %w", err)
	}
	return raw, nil
}

// Import replaces every queue with what Export returned and the feedback
// records with fb (oldest first). Time is applied at the next Lock or Tick:
// a message that expired meanwhile leaves then with Expired feedback.
func (s *Store) Import(raw []byte, fb []Feedback) error {
	var in []savedMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			return fmt.Errorf("import c2d queues: %w", err)
		}
	}
	queues := make(map[string][]*entry)
	for _, m := range in {
		queues[m.DeviceID] = append(queues[m.DeviceID], &entry{msg: copyMessage(m.Message), genID: m.GenID,
			enqueued: m.Enqueued, expires: m.Expires, deliveries: m.Deliveries})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues = queues
	s.feedback = append([]Feedback(nil), fb...)
	return nil
}

// FeedbackSince returns the feedback records after the first n, oldest
// first: records are only ever appended, so a persister saves them
// incrementally.
func (s *Store) FeedbackSince(n int) []Feedback {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= len(s.feedback) {
		return nil
	}
	return append([]Feedback(nil), s.feedback[max(n, 0):]...)
}
