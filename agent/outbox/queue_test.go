package outbox

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

func TestNextReturnsAlertsFirstThenTelemetryInSeqOrder(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	put := mustPut(t, s, telemetry("t1"), alert("a1"), telemetry("t2"), alert("a2"))
	for i := 1; i < len(put); i++ {
		if put[i].Seq <= put[i-1].Seq {
			t.Fatalf("Seq %d after %d: want strictly increasing", put[i].Seq, put[i-1].Seq)
		}
	}
	tests := []struct {
		n    int
		want []string
	}{
		{0, []string{}},
		{1, []string{"a1"}},
		{3, []string{"a1", "a2", "t1"}},
		{10, []string{"a1", "a2", "t1", "t2"}},
	}
	for _, tc := range tests {
		if got := ids(mustNext(t, s, tc.n)); !slices.Equal(got, tc.want) {
			t.Errorf("Next(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	items := mustNext(t, s, 10)
	if err := sameItem(items[0], put[1]); err != nil {
		t.Errorf("Next()[0]: %v", err)
	}
	if n, _ := s.Len(); n != 4 {
		t.Errorf("Len = %d after Next, want 4 (Next does not remove)", n)
	}
}

func TestAckDeletesAndIsIdempotent(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	put := mustPut(t, s, telemetry("t1"), alert("a1"), telemetry("t2"))
	for range 2 { // the second round acks seqs that are gone
		if err := s.Ack(ClassAlert, put[1].Seq); err != nil {
			t.Fatalf("Ack(alert %d): %v", put[1].Seq, err)
		}
		if err := s.Ack(ClassTelemetry, put[0].Seq); err != nil {
			t.Fatalf("Ack(telemetry %d): %v", put[0].Seq, err)
		}
	}
	if err := s.Ack(ClassTelemetry, 9999); err != nil {
		t.Errorf("Ack(unknown seq) = %v, want nil", err)
	}
	if got := ids(mustNext(t, s, 10)); !slices.Equal(got, []string{"t2"}) {
		t.Errorf("Next after acks = %v, want [t2]", got)
	}
	st := s.Stats()
	if st.Items != 1 || st.Acked != 2 || st.Put != 3 {
		t.Errorf("Stats = %+v, want Items 1, Acked 2, Put 3", st)
	}
	if err := s.Ack(ClassReported, 1); err == nil || !strings.Contains(err.Error(), "not queued") {
		t.Errorf("Ack(ClassReported) = %v, want a 'not queued' error", err)
	}
}

func TestItemsSurviveRestart(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	var put []Item
	for i := range 20 {
		c := ClassTelemetry
		if i%5 == 0 {
			c = ClassAlert
		}
		put = append(put, mustPut(t, s, testItem(c, fmt.Sprintf("m%d", i)))...)
	}
	want := slices.Clone(put)
	slices.SortStableFunc(want, func(a, b Item) int { return int(a.Class) - int(b.Class) })

	s = reopenStore(t, d, "dev-1")
	got := mustNext(t, s, 100)
	if len(got) != len(want) {
		t.Fatalf("after reopen Next = %v, want %v", ids(got), ids(want))
	}
	for i := range want {
		if err := sameItem(got[i], want[i]); err != nil {
			t.Fatalf("after reopen item %d: %v", i, err)
		}
	}
	for _, it := range got[:10] {
		if err := s.Ack(it.Class, it.Seq); err != nil {
			t.Fatal(err)
		}
	}

	s = reopenStore(t, d, "dev-1")
	if got := ids(mustNext(t, s, 100)); !slices.Equal(got, ids(want[10:])) {
		t.Errorf("after acking 10 and reopening Next = %v, want %v", got, ids(want[10:]))
	}
	if n, b := s.Len(); n != 10 || b <= 0 {
		t.Errorf("Len = %d, %d after reopen, want 10 items and some bytes", n, b)
	}
}

func TestSeqKeepsGrowingAcrossRestartsWhenEverythingWasAcked(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	last := mustPut(t, s, telemetry("a"), telemetry("b"))[1]
	if err := s.AckMany(mustNext(t, s, 10)); err != nil {
		t.Fatal(err)
	}
	s = reopenStore(t, d, "dev-1")
	if next := mustPut(t, s, telemetry("c"))[0]; next.Seq <= last.Seq {
		t.Errorf("Seq after restart = %d, want > %d", next.Seq, last.Seq)
	}
}

func reopenStore(t testing.TB, d *testDB, prefix string) *Store {
	t.Helper()
	d.reopen()
	return d.store(prefix, Limits{})
}

func TestEvictionDropsOldestTelemetryFirst(t *testing.T) {
	tests := []struct {
		name        string
		lim         Limits
		put         []Item
		wantNext    []string
		wantEvicted int64
	}{
		{"telemetry only", Limits{MaxItems: 3},
			[]Item{telemetry("t1"), telemetry("t2"), telemetry("t3"), telemetry("t4"), telemetry("t5")},
			[]string{"t3", "t4", "t5"}, 2},
		{"alerts outlive older telemetry", Limits{MaxItems: 3},
			[]Item{alert("a1"), telemetry("t1"), alert("a2"), telemetry("t2"), telemetry("t3")},
			[]string{"a1", "a2", "t3"}, 2},
		{"an alert evicts telemetry", Limits{MaxItems: 2},
			[]Item{telemetry("t1"), telemetry("t2"), alert("a1")},
			[]string{"a1", "t2"}, 1},
		{"oldest alert only when only alerts remain", Limits{MaxItems: 2},
			[]Item{alert("a1"), alert("a2"), alert("a3")},
			[]string{"a2", "a3"}, 1},
		{"telemetry evicts an alert only when no telemetry remains", Limits{MaxItems: 2},
			[]Item{alert("a1"), alert("a2"), telemetry("t1"), telemetry("t2")},
			[]string{"a2", "t2"}, 2},
		{"byte limit", Limits{MaxBytes: 3 * encodedSize(telemetry("t1"))},
			[]Item{telemetry("t1"), alert("a1"), telemetry("t2"), telemetry("t3")},
			[]string{"a1", "t2", "t3"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDB(t)
			s := d.store("dev-1", tc.lim)
			if err := s.PutReported(map[string]any{"fw": "1.2"}); err != nil {
				t.Fatal(err)
			}
			mustPut(t, s, tc.put...)
			if got := ids(mustNext(t, s, 100)); !slices.Equal(got, tc.wantNext) {
				t.Errorf("Next = %v, want %v", got, tc.wantNext)
			}
			if st := s.Stats(); st.Evicted != tc.wantEvicted || st.Items != len(tc.wantNext) {
				t.Errorf("Stats = %+v, want Evicted %d, Items %d", st, tc.wantEvicted, len(tc.wantNext))
			}
			if _, _, ok := s.PendingReported(); !ok {
				t.Error("reported patch was evicted; reported state is never evicted")
			}
			s = reopenStore(t, d, "dev-1")
			if got := s.Stats().Evicted; got != tc.wantEvicted {
				t.Errorf("after reopen Evicted = %d, want %d (persisted)", got, tc.wantEvicted)
			}
		})
	}
}

func TestPutReturnsErrFullOnlyForAnItemThatCanNeverFit(t *testing.T) {
	d := newTestDB(t)
	small := telemetry("small")
	s := d.store("dev-1", Limits{MaxBytes: encodedSize(small)})
	mustPut(t, s, small)
	big := telemetry("big")
	big.Payload = make([]byte, 100)
	_, err := s.Put(big)
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), `outbox put: item "big"`) {
		t.Fatalf("Put(oversized) = %v, want ErrFull naming the item", err)
	}
	if got := ids(mustNext(t, s, 10)); !slices.Equal(got, []string{"small"}) {
		t.Errorf("Next = %v after a rejected Put, want [small] (nothing evicted)", got)
	}
	mustPut(t, s, telemetry("other")) // same size: evicts "small"
	if st := s.Stats(); st.Evicted != 1 {
		t.Errorf("Evicted = %d, want 1", st.Evicted)
	}
}

func TestPutManyIsAllOrNothing(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{MaxBytes: 1000})
	big := telemetry("big")
	big.Payload = make([]byte, 2000)
	_, err := s.PutMany([]Item{telemetry("ok"), big})
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), `item 1 ("big")`) {
		t.Fatalf("PutMany = %v, want ErrFull naming item 1", err)
	}
	_, err = s.PutMany([]Item{telemetry("ok"), {Class: ClassUpload, ID: "u"}})
	if err == nil || !strings.Contains(err.Error(), "class upload is not queued") {
		t.Fatalf("PutMany(upload) = %v, want a 'not queued' error", err)
	}
	if n, _ := s.Len(); n != 0 {
		t.Fatalf("Len = %d after failed batches, want 0", n)
	}
	out, err := s.PutMany([]Item{telemetry("a"), alert("b"), telemetry("c")})
	if err != nil || len(out) != 3 || out[0].Seq+1 != out[1].Seq || out[1].Seq+1 != out[2].Seq {
		t.Fatalf("PutMany = %+v, %v; want 3 items with consecutive seqs", out, err)
	}
}

func TestStoresWithDifferentPrefixesAreIndependent(t *testing.T) {
	d := newTestDB(t)
	a := d.store("dev-a", Limits{MaxItems: 2})
	b := d.store("dev-b", Limits{})
	mustPut(t, a, telemetry("a1"), telemetry("a2"), telemetry("a3"))
	pb := mustPut(t, b, telemetry("b1"))
	if err := a.PutReported(map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Ack(ClassTelemetry, pb[0].Seq); err != nil {
		t.Fatal(err)
	}
	if got := ids(mustNext(t, a, 10)); !slices.Equal(got, []string{"a2", "a3"}) {
		t.Errorf("a: Next = %v, want [a2 a3]", got)
	}
	if got := mustNext(t, b, 10); len(got) != 0 {
		t.Errorf("b: Next = %v, want nothing", ids(got))
	}
	if _, _, ok := b.PendingReported(); ok {
		t.Error("b sees a's reported patch")
	}
	if a.Stats().Evicted != 1 || b.Stats().Evicted != 0 {
		t.Errorf("Evicted a=%d b=%d, want 1 and 0", a.Stats().Evicted, b.Stats().Evicted)
	}
	if pb[0].Seq != 1 {
		t.Errorf("b's first Seq = %d, want 1 (sequences are per store)", pb[0].Seq)
	}
}

func TestCorruptRecordIsSkippedCountedAndDeleted(t *testing.T) {
	d := newTestDB(t)
	var logs logBuffer
	s := d.store("dev-1", Limits{}, WithLogger(logs.logger()))
	put := mustPut(t, s, telemetry("t1"), telemetry("t2"))
	garbage := map[string][]byte{
		string(seqKey(put[0].Seq + 100)): []byte("not a record"),
		"short":                          []byte("key is not a seq"),
	}
	good := encodeRecord(nil, telemetry("flipped"))
	good[len(good)/2] ^= 0xff
	garbage[string(seqKey(put[0].Seq+101))] = good
	err := d.db.Update(func(tx *bbolt.Tx) error {
		for k, v := range garbage {
			if err := tx.Bucket([]byte("dev-1/telemetry")).Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d.reopen() // count the garbage in, as after a crash
	s = d.store("dev-1", Limits{}, WithLogger(logs.logger()))
	if got := ids(mustNext(t, s, 10)); !slices.Equal(got, []string{"t1", "t2"}) {
		t.Fatalf("Next = %v, want [t1 t2]", got)
	}
	if st := s.Stats(); st.Corrupt != 3 || st.Items != 2 {
		t.Errorf("Stats = %+v, want Corrupt 3, Items 2", st)
	}
	if n := strings.Count(logs.String(), "failed to decode"); n != 3 {
		t.Errorf("logged %d decode failures, want 3:\n%s", n, logs.String())
	}
	s = reopenStore(t, d, "dev-1")
	if st := s.Stats(); st.Corrupt != 3 || st.Items != 2 {
		t.Errorf("after reopen Stats = %+v, want Corrupt 3 (persisted), Items 2 (garbage deleted)", st)
	}
}

func TestWriteErrorsAreReturnedWrapped(t *testing.T) {
	d := newTestDB(t)
	_ = d.db.Close()
	db, err := bbolt.Open(d.path, 0o600, &bbolt.Options{MaxSize: 256 << 10}) // a small "disk"
	if err != nil {
		t.Fatal(err)
	}
	d.db = db
	s := d.store("dev-1", Limits{})
	it := telemetry("big")
	it.Payload = make([]byte, 32<<10)
	var putErr error
	for i := 0; i < 100 && putErr == nil; i++ {
		_, putErr = s.Put(it)
	}
	if putErr == nil || !strings.HasPrefix(putErr.Error(), "outbox put: ") {
		t.Fatalf("Put on a full disk = %v, want an error starting %q", putErr, "outbox put: ")
	}
	before, _ := s.Len()
	if err := s.AckMany(mustNext(t, s, 3)); err != nil {
		t.Fatalf("Ack on a full disk: %v", err)
	}
	if _, err := s.Put(telemetry("small")); err != nil {
		t.Errorf("Put after acks freed space: %v", err)
	}
	if after, _ := s.Len(); after != before-2 {
		t.Errorf("Len = %d, want %d (failed Put left no trace)", after, before-2)
	}
}

func TestClosedStoreReturnsErrClosed(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	_ = s.Close()
	if _, err := s.Put(telemetry("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	s = d.store("dev-1", Limits{})
	_ = d.db.Close()
	d.db = nil
	if _, err := s.Next(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Next on a closed database = %v, want ErrClosed", err)
	}
	if err := s.Ack(ClassTelemetry, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack on a closed database = %v, want ErrClosed", err)
	}
}

func TestOpenRejectsBadArguments(t *testing.T) {
	d := newTestDB(t)
	tests := []struct {
		name   string
		db     *bbolt.DB
		prefix string
		lim    Limits
		want   string
	}{
		{"nil db", nil, "p", Limits{}, "nil database"},
		{"empty prefix", d.db, "", Limits{}, "empty bucket prefix"},
		{"negative items", d.db, "p", Limits{MaxItems: -1}, "must not be negative"},
		{"negative bytes", d.db, "p", Limits{MaxBytes: -1}, "must not be negative"},
	}
	for _, tc := range tests {
		if _, err := Open(tc.db, tc.prefix, tc.lim); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Open = %v, want error containing %q", tc.name, err, tc.want)
		}
	}
}
