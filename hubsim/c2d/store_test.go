package c2d

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestQueueHoldsFiftyThenRefusesWith403004(t *testing.T) {
	s := New(Config{})
	for i := 0; i < DefaultMaxQueue; i++ {
		if err := s.Enqueue("d", "g", Message{}, t0); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	err := s.Enqueue("d", "g", Message{}, t0)
	var e *Error
	if !errors.Is(err, ErrQueueFull) || !errors.As(err, &e) || e.Status != 403 || e.Code != 403004 {
		t.Fatalf("51st Enqueue = %v, want 403004", err)
	}
	if err := s.Enqueue("other", "g", Message{}, t0); err != nil {
		t.Fatalf("another device's queue is separate: %v", err)
	}
}

func TestCompleteRemovesAndReportsSuccess(t *testing.T) {
	s := New(Config{})
	s.Enqueue("d", "gen1", Message{MessageID: "m1", Ack: AckFull, Body: []byte("x")}, t0)
	ds := s.Lock("d", t0)
	if len(ds) != 1 || ds[0].DeliveryCount != 1 || string(ds[0].Message.Body) != "x" {
		t.Fatalf("Lock = %+v", ds)
	}
	if again := s.Lock("d", t0); len(again) != 0 {
		t.Fatalf("a locked message was handed out twice: %+v", again)
	}
	if !s.Complete("d", ds[0].LockToken, t0.Add(time.Second)) || s.Len("d") != 0 {
		t.Fatal("Complete did not remove the message")
	}
	fb := s.Feedback()
	if len(fb) != 1 || fb[0].StatusCode != StatusSuccess || fb[0].OriginalMessageID != "m1" || fb[0].DeviceGenerationID != "gen1" {
		t.Fatalf("Feedback = %+v", fb)
	}
}

func TestExpiredLockRedeliversThenDeadLettersAfterMaxDeliveries(t *testing.T) {
	s := New(Config{LockDuration: time.Second, MaxDeliveryCount: 3})
	s.Enqueue("d", "g", Message{MessageID: "m1", Ack: AckNegative}, t0)
	now := t0
	var tokens []uint64
	for i := 1; i <= 3; i++ {
		ds := s.Lock("d", now)
		if len(ds) != 1 || ds[0].DeliveryCount != i {
			t.Fatalf("delivery %d: Lock = %+v", i, ds)
		}
		tokens = append(tokens, ds[0].LockToken)
		if dl, ok := s.NextDeadline(); !ok || !dl.Equal(now.Add(time.Second)) {
			t.Fatalf("NextDeadline = %v %v, want the lock expiry", dl, ok)
		}
		now = now.Add(time.Second)
		ready := s.Tick(now)
		if i < 3 && (len(ready) != 1 || ready[0] != "d") {
			t.Fatalf("after lock %d expired Tick = %v, want [d]", i, ready)
		}
	}
	if s.Complete("d", tokens[0], now) {
		t.Fatal("a stale lock token completed the message")
	}
	if s.Len("d") != 0 {
		t.Fatal("message still queued after max deliveries")
	}
	fb := s.Feedback()
	if len(fb) != 1 || fb[0].StatusCode != StatusDeliveryCountExceeded {
		t.Fatalf("Feedback = %+v, want DeliveryCountExceeded", fb)
	}
}

func TestTTLExpiresQueuedAndLockedMessages(t *testing.T) {
	s := New(Config{TTL: time.Minute})
	s.Enqueue("d", "g", Message{MessageID: "default-ttl", Ack: AckFull}, t0)
	s.Enqueue("d", "g", Message{MessageID: "explicit", Ack: AckPositive, ExpiryTime: t0.Add(10 * time.Second)}, t0)
	s.Lock("d", t0)
	if dl, _ := s.NextDeadline(); !dl.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("NextDeadline = %v, want the explicit expiry", dl)
	}
	s.Tick(t0.Add(time.Minute))
	if s.Len("d") != 0 {
		t.Fatalf("Len = %d after both expired", s.Len("d"))
	}
	fb := s.Feedback()
	if len(fb) != 1 || fb[0].OriginalMessageID != "default-ttl" || fb[0].StatusCode != StatusExpired {
		t.Fatalf("Feedback = %+v, want only the full-ack message's Expired", fb)
	}
	if _, ok := s.NextDeadline(); ok {
		t.Fatal("NextDeadline with empty queues")
	}
}

func TestEnqueueRejectsOversizeAndExpiredMessages(t *testing.T) {
	s := New(Config{})
	if err := s.Enqueue("d", "g", Message{Body: make([]byte, DefaultMaxMessageSize+1)}, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("oversize Enqueue = %v", err)
	}
	if err := s.Enqueue("d", "g", Message{ExpiryTime: t0}, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired Enqueue = %v", err)
	}
	far := t0.Add(10 * DefaultMaxTTL)
	s.Enqueue("d", "g", Message{ExpiryTime: far}, t0)
	if dl, _ := s.NextDeadline(); !dl.Equal(t0.Add(DefaultMaxTTL)) {
		t.Fatalf("expiry %v not cut to the max TTL", dl)
	}
}

func TestEnqueueCopiesTheMessage(t *testing.T) {
	s := New(Config{})
	body := []byte("abc")
	props := map[string]string{"k": "v"}
	s.Enqueue("d", "g", Message{Body: body, Properties: props}, t0)
	body[0], props["k"] = 'X', "changed"
	d := s.Lock("d", t0)[0]
	if string(d.Message.Body) != "abc" || d.Message.Properties["k"] != "v" {
		t.Fatalf("queued message changed with the caller's buffers: %+v", d.Message)
	}
}

func TestPurgeReportsPurged(t *testing.T) {
	s := New(Config{})
	s.Enqueue("d", "g", Message{Ack: AckFull}, t0)
	s.Enqueue("d", "g", Message{}, t0)
	if n := s.Purge("d", t0); n != 2 || s.Len("d") != 0 {
		t.Fatalf("Purge = %d, Len = %d", n, s.Len("d"))
	}
	if fb := s.Feedback(); len(fb) != 1 || fb[0].StatusCode != StatusPurged {
		t.Fatalf("Feedback = %+v", fb)
	}
}
