package chaos

import (
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

func TestTimelineRecordsPartitionAndHeal(t *testing.T) {
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	clock := testclock.New(start)
	n := NewNetwork(NewTimeline(clock))
	n.Partition("lyon")
	n.Partition("lyon") // already partitioned: not recorded
	clock.Advance(90 * time.Second)
	n.Heal("lyon")
	n.Heal("lyon") // already healthy: not recorded
	n.Heal("paris")
	want := []Event{
		{At: start, Kind: KindPartition, Site: "lyon", Detail: "0 conns"},
		{At: start.Add(90 * time.Second), Kind: KindHeal, Site: "lyon", Detail: "0 conns"},
	}
	got := n.Timeline().Events()
	if len(got) != len(want) {
		t.Fatalf("Events() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Events()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	counts := []struct {
		kind string
		want int
	}{{KindPartition, 1}, {KindHeal, 1}, {"reset", 0}}
	for _, tc := range counts {
		if got := n.Timeline().Count(tc.kind); got != tc.want {
			t.Errorf("Count(%q) = %d, want %d", tc.kind, got, tc.want)
		}
	}
}

func TestTimelineEventsIsACopy(t *testing.T) {
	tl := NewTimeline(nil)
	e := tl.Record(KindPartition, "lyon", "")
	if e.At.IsZero() {
		t.Fatal("Record with the wall clock returned a zero time")
	}
	tl.Events()[0].Site = "changed"
	if got := tl.Events()[0].Site; got != "lyon" {
		t.Fatalf("Events()[0].Site = %q after changing the copy, want %q", got, "lyon")
	}
}

func TestTimelineConcurrentRecordKeepsEveryEvent(t *testing.T) {
	leakcheck.Check(t, waitTimeout)
	tl := NewTimeline(nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				tl.Record(KindHeal, "lyon", "")
			}
		})
	}
	wg.Wait()
	if got := tl.Count(KindHeal); got != 800 {
		t.Fatalf("Count = %d after 800 concurrent records, want 800", got)
	}
	events := tl.Events()
	for i := 1; i < len(events); i++ {
		if events[i].At.Before(events[i-1].At) {
			t.Fatalf("event %d at %v is before event %d at %v", i, events[i].At, i-1, events[i-1].At)
		}
	}
}

func TestNewNetworkDefaultsToAWallClockTimeline(t *testing.T) {
	n := NewNetwork(nil)
	before := time.Now()
	n.Partition("lyon")
	if got := n.Timeline().Events(); len(got) != 1 || got[0].At.Before(before) {
		t.Fatalf("Events() = %+v, want one partition stamped after %v", got, before)
	}
}
