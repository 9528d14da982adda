package eventlog

import (
	"sync"
	"testing"
)

func TestDuplicatesAreCountedPerDeviceAndMessageID(t *testing.T) {
	l := New(true)
	for _, e := range []Event{
		{DeviceID: "a", MessageID: "a-1-1"},
		{DeviceID: "a", MessageID: "a-1-1"}, // redelivery
		{DeviceID: "b", MessageID: "a-1-1"}, // same id, other device: not a duplicate
		{DeviceID: "b"},                     // no id
	} {
		l.Append(e)
	}
	got := l.Stats()
	want := Stats{Received: 4, Unique: 2, Duplicates: 1, NoID: 1}
	if got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if n := l.Seen("a", "a-1-1"); n != 2 {
		t.Fatalf("Seen(a, a-1-1) = %d, want 2", n)
	}
	ev := l.Events()
	if len(ev) != 4 || ev[0].Seq != 1 || ev[3].Seq != 4 {
		t.Fatalf("Events = %+v", ev)
	}
}

func TestSubscribersSeeEveryEventUnderConcurrentAppends(t *testing.T) {
	l := New(false)
	var mu sync.Mutex
	n := 0
	l.Subscribe(func(Event) { mu.Lock(); n++; mu.Unlock() })
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				l.Append(Event{DeviceID: "d", MessageID: string(rune('a'+i)) + string(rune(j))})
			}
		}()
	}
	wg.Wait()
	if n != 800 || l.Stats().Received != 800 || l.Events() != nil {
		t.Fatalf("n=%d stats=%+v", n, l.Stats())
	}
}
