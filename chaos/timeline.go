package chaos

import (
	"sync"
	"time"
)

// Event kinds recorded by a Network.
const (
	KindPartition = "partition" // a site became a blackhole
	KindHeal      = "heal"      // a partitioned site was restored
)

// Clock is the time source chaos needs. Any clock with Now satisfies it,
// such as the scaled clock devsim uses.
type Clock interface{ Now() time.Time }

// wallClock is the real time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Event is one chaos action on the timeline.
type Event struct {
	At     time.Time
	Kind   string // KindPartition, KindHeal, ...
	Site   string
	Detail string
}

// Timeline is an append-only, concurrency-safe record of chaos events in the
// order they happened.
type Timeline struct {
	clock Clock

	mu     sync.Mutex // guards events
	events []Event
}

// NewTimeline returns an empty timeline stamping events with c; a nil c means
// the wall clock.
func NewTimeline(c Clock) *Timeline {
	if c == nil {
		c = wallClock{}
	}
	return &Timeline{clock: c}
}

// Record appends an event stamped with the timeline's clock and returns it.
func (t *Timeline) Record(kind, site, detail string) Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := Event{At: t.clock.Now(), Kind: kind, Site: site, Detail: detail}
	t.events = append(t.events, e)
	return e
}

// Events returns a copy of the events in the order they were recorded.
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Event, len(t.events))
	copy(out, t.events)
	return out
}

// Count returns how many events of the given kind were recorded.
func (t *Timeline) Count(kind string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}
