package eventlog

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is one device-to-cloud message as the hub recorded it.
type Event struct {
	Seq       int64 // order of arrival, from 1
	DeviceID  string
	ModuleID  string // set for a module's message
	MessageID string
	// Properties are the message's properties, decoded: system ($.mid,
	// $.ct ...) and application ones from the topic, then those the hub
	// stamps on receipt (PropDeviceID ... PropDataSchema, PropRetain,
	// PropMessageType for a will). Only filled when the log is Detailed.
	Properties   map[string]string
	Body         []byte
	EnqueuedTime time.Time
}

// Stats are the counts a run is judged on.
type Stats struct {
	Received   int64 // every message recorded, duplicates included
	Unique     int64 // distinct (device, message id) pairs
	Duplicates int64 // Received - Unique, for messages that carry an id
	NoID       int64 // messages without a message id (cannot be de-duplicated)
}

// Log is an append-only record of events.
type Log struct {
	detailed  atomic.Bool // keep, or any listener: someone reads properties and bodies
	mu        sync.Mutex
	keep      bool             // keep whole events (bodies included)
	events    []Event          // guarded by mu; only when keep
	seen      map[string]int   // "device\x00mid" -> times seen; guarded by mu
	stats     Stats            // guarded by mu
	listeners []func(Event)    // guarded by mu
	byDevice  map[string]int64 // guarded by mu
	journaled bool             // guarded by mu; set by StartJournal (journal.go)
	journal   []Mark           // guarded by mu; appended since the last DrainJournal
}

// New returns an empty log. With keepEvents false only the counts and the
// message ids are kept, which is what large fleets need.
func New(keepEvents bool) *Log {
	l := &Log{keep: keepEvents, seen: make(map[string]int), byDevice: make(map[string]int64)}
	l.detailed.Store(keepEvents)
	return l
}

// Detailed reports whether anyone reads an event's properties and body
// (the log keeps events, or has a subscriber). When false, a recorder may
// append only device and message ids, which is what large fleets need.
func (l *Log) Detailed() bool { return l.detailed.Load() }

// Append records an event, assigns its sequence number and returns it.
func (l *Log) Append(e Event) Event {
	l.mu.Lock()
	l.stats.Received++
	e.Seq = l.stats.Received
	l.byDevice[e.DeviceID]++
	if e.MessageID == "" {
		l.stats.NoID++
	} else {
		k := e.DeviceID + "\x00" + e.MessageID
		l.seen[k]++
		if l.seen[k] == 1 {
			l.stats.Unique++
		} else {
			l.stats.Duplicates++
		}
	}
	if l.keep {
		l.events = append(l.events, e)
	}
	if l.journaled {
		l.journal = append(l.journal, Mark{DeviceID: e.DeviceID, MessageID: e.MessageID})
	}
	listeners := l.listeners
	l.mu.Unlock()
	for _, fn := range listeners {
		fn(e)
	}
	return e
}

// Subscribe calls fn for every event appended from now on. fn runs on the
// publishing client's read path: it must be fast and must not block.
func (l *Log) Subscribe(fn func(Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listeners = append(l.listeners[:len(l.listeners):len(l.listeners)], fn)
	l.detailed.Store(true)
}

// Stats returns the counts so far.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Seen reports how many times the hub recorded (deviceID, messageID).
func (l *Log) Seen(deviceID, messageID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[deviceID+"\x00"+messageID]
}

// DeviceCount returns how many messages a device sent, duplicates included.
func (l *Log) DeviceCount(deviceID string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byDevice[deviceID]
}

// Events returns a copy of the kept events in arrival order (nil when the
// log keeps counts only).
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}
