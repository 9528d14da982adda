package outbox

import (
	"slices"
	"testing"
)

func TestNextBootCountsAcrossRestarts(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	for want := uint64(1); want <= 3; want++ {
		got, err := s.NextBoot()
		if err != nil || got != want {
			t.Fatalf("NextBoot = %d, %v; want %d", got, err, want)
		}
		s = reopenStore(t, d, "dev-1")
	}
	other := d.store("dev-2", Limits{})
	if got, _ := other.NextBoot(); got != 1 {
		t.Errorf("another prefix's NextBoot = %d, want 1", got)
	}
}

func TestUploadRecords(t *testing.T) {
	d := newTestDB(t)
	s := d.store("dev-1", Limits{MaxItems: 1})
	rec := []byte(`{"file":"case-7.log","offset":4096}`)
	if err := s.PutUpload("u1", rec); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUpload("u0", nil); err != nil {
		t.Fatal(err)
	}
	rec[0] = 'X' // the store must have kept its own copy
	// Over MaxItems: evicts telemetry, never upload records.
	mustPut(t, s, telemetry("t1"), telemetry("t2"))
	s = reopenStore(t, d, "dev-1")
	got, ok, err := s.GetUpload("u1")
	if err != nil || !ok || string(got) != `{"file":"case-7.log","offset":4096}` {
		t.Fatalf("GetUpload(u1) = %q, %v, %v", got, ok, err)
	}
	if _, ok, _ := s.GetUpload("u0"); !ok {
		t.Error("GetUpload(u0) with an empty record: not found")
	}
	if list, err := s.Uploads(); err != nil || !slices.Equal(list, []string{"u0", "u1"}) {
		t.Errorf("Uploads = %v, %v; want [u0 u1]", list, err)
	}
	for range 2 { // deleting twice is fine
		if err := s.DeleteUpload("u1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := s.GetUpload("u1"); ok {
		t.Error("u1 still there after DeleteUpload")
	}
	if err := s.PutUpload("", nil); err == nil {
		t.Error("PutUpload with an empty id succeeded")
	}
}
