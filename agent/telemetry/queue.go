package telemetry

import "sync"

// DefaultQueueLimit bounds the in-memory queue.
const DefaultQueueLimit = 100_000

// Queue holds messages in order until they are acknowledged. When full it
// evicts the oldest message and counts the eviction.
type Queue struct {
	mu      sync.Mutex
	items   []Message // guarded by mu; oldest first
	limit   int
	evicted int64         // guarded by mu
	ready   chan struct{} // signalled (non-blocking) when items are added
}

// NewQueue returns a queue holding at most limit messages (0: default).
func NewQueue(limit int) *Queue {
	if limit <= 0 {
		limit = DefaultQueueLimit
	}
	return &Queue{limit: limit, ready: make(chan struct{}, 1)}
}

// Push appends a message.
func (q *Queue) Push(m Message) {
	q.mu.Lock()
	if len(q.items) >= q.limit {
		q.items = q.items[1:]
		q.evicted++
	}
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Peek returns the oldest message without removing it.
func (q *Queue) Peek() (Message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Message{}, false
	}
	return q.items[0], true
}

// Ack removes the oldest message if it is the one with id.
func (q *Queue) Ack(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 && q.items[0].ID == id {
		q.items[0] = Message{}
		q.items = q.items[1:]
	}
}

// Len is the number of unacknowledged messages.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Evicted counts messages dropped because the queue was full.
func (q *Queue) Evicted() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.evicted
}

// Ready is signalled after a Push; receive from it to wait for work.
func (q *Queue) Ready() <-chan struct{} { return q.ready }
