package registry

import (
	"testing"
	"time"
)

// TestRestoreKeepsIdentitiesAndContinuesEtags: restored identities come
// back unchanged but disconnected, and the next etag is newer than any
// restored one.
func TestRestoreKeepsIdentitiesAndContinuesEtags(t *testing.T) {
	old := New()
	for _, d := range []Device{{ID: "a"}, {ID: "b", Auth: AuthSAS}, {ID: "b/m"}} {
		if err := old.Create(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.SetStatus("a", StatusDisabled); err != nil {
		t.Fatal(err)
	}
	if err := old.SetConnected("b", true, time.Now()); err != nil {
		t.Fatal(err)
	}
	saved := old.List()

	r := New()
	r.Restore(saved...)
	got := r.List()
	if len(got) != len(saved) {
		t.Fatalf("restored %d identities, want %d", len(got), len(saved))
	}
	for i, d := range got {
		want := saved[i]
		want.Connected, want.ConnectionStateUpdatedTime = false, time.Time{}
		if d != want {
			t.Errorf("restored %+v, want %+v", d, want)
		}
	}
	if n := r.ConnectedCount(); n != 0 {
		t.Errorf("ConnectedCount after Restore = %d, want 0", n)
	}
	seq, n := r.ChangeMark()
	if err := r.Create(Device{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	c, _ := r.Get("c")
	if etagNumber(c.ETag) <= seq {
		t.Errorf("new etag %s (number %d) is not after the restored ones (up to %d)", c.ETag, etagNumber(c.ETag), seq)
	}
	if s2, n2 := r.ChangeMark(); s2 == seq || n2 != n+1 {
		t.Errorf("ChangeMark after Create = (%d, %d), was (%d, %d)", s2, n2, seq, n)
	}
}

// TestChangeMarkIgnoresConnectionState: connecting is not an identity
// change; a delete is.
func TestChangeMarkIgnoresConnectionState(t *testing.T) {
	r := New()
	if err := r.Create(Device{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	s, n := r.ChangeMark()
	_ = r.SetConnected("a", true, time.Now())
	if s2, n2 := r.ChangeMark(); s2 != s || n2 != n {
		t.Errorf("ChangeMark moved on connect: (%d, %d) -> (%d, %d)", s, n, s2, n2)
	}
	r.Delete("a")
	if _, n2 := r.ChangeMark(); n2 == n {
		t.Errorf("ChangeMark did not move on delete")
	}
}
