package eventlog

import "testing"

// TestJournalRebuildsCountsInAnotherLog: the marks a log journals, counted
// and restored into a new log, give the same Stats, Seen and DeviceCount.
func TestJournalRebuildsCountsInAnotherLog(t *testing.T) {
	old := New(false)
	old.Append(Event{DeviceID: "a", MessageID: "before-journal"})
	old.StartJournal()
	if m := old.DrainJournal(); m != nil {
		t.Fatalf("DrainJournal before any append = %v", m)
	}
	for _, e := range []Event{
		{DeviceID: "a", MessageID: "a-1-1"},
		{DeviceID: "a", MessageID: "a-1-1"},
		{DeviceID: "a", MessageID: "a-1-2"},
		{DeviceID: "b", MessageID: "a-1-1"},
		{DeviceID: "b"},
		{DeviceID: "b"},
	} {
		old.Append(e)
	}
	marks := old.DrainJournal()
	if len(marks) != 6 || marks[0] != (Mark{"a", "a-1-1"}) || marks[5] != (Mark{"b", ""}) {
		t.Fatalf("DrainJournal = %v", marks)
	}
	if again := old.DrainJournal(); again != nil {
		t.Fatalf("second DrainJournal = %v, want nil", again)
	}

	counts := map[Mark]int64{{"a", "before-journal"}: 1}
	for _, m := range marks {
		counts[m]++
	}
	var cs []Count
	for m, n := range counts {
		cs = append(cs, Count{DeviceID: m.DeviceID, MessageID: m.MessageID, N: n})
	}
	l := New(false)
	l.Restore(cs[:1])
	l.Restore(cs[1:]) // restoring in parts adds up
	if got, want := l.Stats(), old.Stats(); got != want {
		t.Fatalf("restored Stats = %+v, want %+v", got, want)
	}
	for _, k := range []Mark{{"a", "a-1-1"}, {"a", "a-1-2"}, {"b", "a-1-1"}, {"a", "before-journal"}} {
		if got, want := l.Seen(k.DeviceID, k.MessageID), old.Seen(k.DeviceID, k.MessageID); got != want {
			t.Errorf("Seen(%v) = %d, want %d", k, got, want)
		}
	}
	for _, d := range []string{"a", "b"} {
		if got, want := l.DeviceCount(d), old.DeviceCount(d); got != want {
			t.Errorf("DeviceCount(%s) = %d, want %d", d, got, want)
		}
	}
	if e := l.Append(Event{DeviceID: "a", MessageID: "a-1-2"}); e.Seq != old.Stats().Received+1 {
		t.Errorf("Seq after Restore = %d, want %d", e.Seq, old.Stats().Received+1)
	}
	if st := l.Stats(); st.Duplicates != old.Stats().Duplicates+1 {
		t.Errorf("a repeat after Restore is not a duplicate: %+v", st)
	}
}
