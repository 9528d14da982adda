package telemetry

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMessageIDsAreStableAndOrdered(t *testing.T) {
	g := NewIDs("dev-7", 3)
	for want := uint64(1); want <= 3; want++ {
		id, seq := g.Next()
		if seq != want || id != MessageID("dev-7", 3, want) {
			t.Fatalf("Next() = %q, %d; want seq %d", id, seq, want)
		}
	}
	if got := MessageID("dev-7", 3, 12); got != "dev-7-3-12" {
		t.Fatalf("MessageID = %q, want dev-7-3-12", got)
	}
}

func TestQueueKeepsMessagesUntilAckedInOrder(t *testing.T) {
	q := NewQueue(10)
	q.Push(Message{ID: "a"})
	q.Push(Message{ID: "b"})
	q.Ack("b") // not the oldest: ignored
	if m, _ := q.Peek(); m.ID != "a" || q.Len() != 2 {
		t.Fatalf("Peek = %q, Len = %d; want a, 2", m.ID, q.Len())
	}
	q.Ack("a")
	if m, _ := q.Peek(); m.ID != "b" || q.Len() != 1 {
		t.Fatalf("after Ack(a): Peek = %q, Len = %d", m.ID, q.Len())
	}
	select {
	case <-q.Ready():
	default:
		t.Fatal("Ready not signalled after Push")
	}
}

func TestFullQueueEvictsOldestAndCountsIt(t *testing.T) {
	q := NewQueue(2)
	for _, id := range []string{"1", "2", "3"} {
		q.Push(Message{ID: id})
	}
	if m, _ := q.Peek(); m.ID != "2" || q.Evicted() != 1 {
		t.Fatalf("Peek = %q evicted = %d; want 2, 1", m.ID, q.Evicted())
	}
}

func TestBuildSetsJSONContentProperties(t *testing.T) {
	m, err := Build("d-1-1", Sample{DeviceID: "d", Seq: 1, Time: time.Unix(0, 0).UTC(), CaseState: "idle"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Properties["$.ct"] != "application/json" || m.Properties["$.ce"] != "utf-8" {
		t.Fatalf("properties = %v", m.Properties)
	}
	var back Sample
	if err := json.Unmarshal(m.Payload, &back); err != nil || back.Seq != 1 {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
}
