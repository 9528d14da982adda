package c2d

import (
	"sync"
	"time"
)

// Defaults for Config fields left zero (PROTOCOL.md §2.2).
const (
	DefaultMaxQueue         = 50
	DefaultTTL              = time.Hour
	DefaultMaxTTL           = 48 * time.Hour
	DefaultLockDuration     = time.Minute
	DefaultMaxDeliveryCount = 10
	DefaultMaxMessageSize   = 64 * 1024
)

// Config sets the queue limits. Zero fields take the defaults above.
type Config struct {
	MaxQueue         int           // messages per device, delivered-but-unacknowledged included
	TTL              time.Duration // time to live of a message without ExpiryTime
	MaxTTL           time.Duration // a later ExpiryTime is cut to enqueue time plus this
	LockDuration     time.Duration // how long a delivery waits for its PUBACK
	MaxDeliveryCount int           // deliveries before a message is dead-lettered
	MaxMessageSize   int           // body plus properties, bytes
}

func (c *Config) fill() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxQueue, DefaultMaxQueue)
	def(&c.MaxDeliveryCount, DefaultMaxDeliveryCount)
	def(&c.MaxMessageSize, DefaultMaxMessageSize)
	defDur(&c.TTL, DefaultTTL)
	defDur(&c.MaxTTL, DefaultMaxTTL)
	defDur(&c.LockDuration, DefaultLockDuration)
}

// entry is one queued message. All fields are guarded by Store.mu.
type entry struct {
	msg         Message
	genID       string
	enqueued    time.Time
	expires     time.Time
	lockedUntil time.Time // zero: available
	token       uint64    // lock token of the current delivery
	deliveries  int
}

// Store holds every device's queue.
type Store struct {
	cfg Config

	mu       sync.Mutex
	queues   map[string][]*entry // by device, oldest first; guarded by mu
	seq      uint64              // last lock token; guarded by mu
	feedback []Feedback          // guarded by mu
}

// New returns an empty store with cfg's limits.
func New(cfg Config) *Store {
	cfg.fill()
	return &Store{cfg: cfg, queues: make(map[string][]*entry)}
}

// Config returns the limits in force.
func (s *Store) Config() Config { return s.cfg }

// Enqueue adds m to the device's queue. genID is the device's generation
// id, for feedback records. The body and properties are copied.
func (s *Store) Enqueue(deviceID, genID string, m Message, now time.Time) error {
	if n := m.size(); n > s.cfg.MaxMessageSize {
		return errorf(ErrInvalid, "message of %d bytes is over %d", n, s.cfg.MaxMessageSize)
	}
	e := &entry{msg: copyMessage(m), genID: genID, enqueued: now, expires: expiry(m, now, s.cfg)}
	if !e.expires.After(now) {
		return errorf(ErrInvalid, "message already expired at %s", e.expires.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(deviceID, now)
	if len(s.queues[deviceID]) >= s.cfg.MaxQueue {
		return errorf(ErrQueueFull, "device %q has %d messages queued", deviceID, s.cfg.MaxQueue)
	}
	s.queues[deviceID] = append(s.queues[deviceID], e)
	return nil
}

func expiry(m Message, now time.Time, cfg Config) time.Time {
	if m.ExpiryTime.IsZero() {
		return now.Add(cfg.TTL)
	}
	if max := now.Add(cfg.MaxTTL); m.ExpiryTime.After(max) {
		return max
	}
	return m.ExpiryTime
}

func copyMessage(m Message) Message {
	m.Body = append([]byte(nil), m.Body...)
	props := make(map[string]string, len(m.Properties))
	for k, v := range m.Properties {
		props[k] = v
	}
	m.Properties = props
	return m
}

// Lock takes every available message of the device, oldest first, locks it
// until now plus the lock duration and counts a delivery. The caller must
// write each Delivery to the device.
func (s *Store) Lock(deviceID string, now time.Time) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(deviceID, now)
	var out []Delivery
	for _, e := range s.queues[deviceID] {
		if !e.lockedUntil.IsZero() {
			continue
		}
		s.seq++
		e.token, e.lockedUntil = s.seq, now.Add(s.cfg.LockDuration)
		e.deliveries++
		out = append(out, Delivery{DeviceID: deviceID, LockToken: e.token, DeliveryCount: e.deliveries,
			EnqueuedTime: e.enqueued, Message: e.msg})
	}
	return out
}

// Complete ends the delivery with lockToken successfully (the device's
// PUBACK) and removes the message. It reports false if that delivery is no
// longer current (its lock expired and the message moved on).
func (s *Store) Complete(deviceID string, lockToken uint64, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[deviceID]
	for i, e := range q {
		if e.token == lockToken && !e.lockedUntil.IsZero() {
			s.removeLocked(deviceID, i, StatusSuccess, "", now)
			return true
		}
	}
	return false
}
