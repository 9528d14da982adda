package c2d

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// TestExportImportKeepsQueuesAndReleasesLocks: imported queues hold the
// same messages in the same order with their delivery counts; a message
// that was locked is available at once; feedback comes back.
func TestExportImportKeepsQueuesAndReleasesLocks(t *testing.T) {
	old := New(Config{})
	exp := t0.Add(30 * time.Minute)
	old.Enqueue("d", "g1", Message{MessageID: "m1", Ack: AckFull, Body: []byte("one"), Properties: map[string]string{"k": "v"}}, t0)
	old.Enqueue("d", "g1", Message{MessageID: "m2", ExpiryTime: exp}, t0)
	old.Enqueue("e", "g2", Message{MessageID: "m3", Ack: AckPositive}, t0)
	locked := old.Lock("d", t0) // m1 and m2 delivered once, still locked
	de := old.Lock("e", t0)
	if len(de) != 1 || !old.Complete("e", de[0].LockToken, t0) { // m3 acknowledged: Success feedback
		t.Fatalf("setup: e's delivery %+v not completed", de)
	}
	raw, err := old.Export()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := old.Export()
	if !bytes.Equal(raw, again) {
		t.Fatalf("Export is not deterministic:\n%s\n%s", raw, again)
	}

	s := New(Config{})
	if err := s.Import(raw, old.FeedbackSince(0)); err != nil {
		t.Fatal(err)
	}
	if s.Len("d") != 2 || s.Len("e") != 0 {
		t.Fatalf("imported lengths d=%d e=%d, want 2 and 0", s.Len("d"), s.Len("e"))
	}
	ds := s.Lock("d", t0.Add(time.Second)) // no lock survived the restart
	if len(ds) != 2 {
		t.Fatalf("Lock after Import = %d deliveries, want 2", len(ds))
	}
	for i, d := range ds {
		want := locked[i].Message
		if !reflect.DeepEqual(d.Message, want) || d.DeliveryCount != 2 || !d.EnqueuedTime.Equal(t0) {
			t.Errorf("delivery %d = %+v (count %d), want %+v (count 2)", i, d.Message, d.DeliveryCount, want)
		}
	}
	if fb := s.Feedback(); len(fb) != 1 || fb[0].OriginalMessageID != "m3" || fb[0].StatusCode != StatusSuccess {
		t.Errorf("imported feedback = %+v, want m3 Success", fb)
	}
	if dl, ok := s.NextDeadline(); !ok || dl.After(exp) {
		t.Errorf("NextDeadline = %v %v, want at most m2's expiry %v", dl, ok, exp)
	}
}

func TestFeedbackSinceIsIncremental(t *testing.T) {
	s := New(Config{})
	for _, id := range []string{"a", "b", "c"} {
		s.Enqueue("d", "g", Message{MessageID: id, Ack: AckFull}, t0)
	}
	s.Purge("d", t0)
	if n := len(s.FeedbackSince(0)); n != 3 {
		t.Fatalf("FeedbackSince(0) = %d records, want 3", n)
	}
	if fb := s.FeedbackSince(2); len(fb) != 1 || fb[0].OriginalMessageID != "c" {
		t.Fatalf("FeedbackSince(2) = %+v, want c only", fb)
	}
	if fb := s.FeedbackSince(3); fb != nil {
		t.Fatalf("FeedbackSince(3) = %+v, want nil", fb)
	}
}

func TestImportRejectsGarbage(t *testing.T) {
	if err := New(Config{}).Import([]byte(`[{"device":`), nil); err == nil {
		t.Fatal("Import of truncated JSON succeeded")
	}
}
