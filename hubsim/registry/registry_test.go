package registry

import (
	"errors"
	"testing"
	"time"
)

func TestCreateDefaultsToEnabledCASignedAndRejectsDuplicates(t *testing.T) {
	r := New()
	if err := r.Create(Device{ID: "d1"}); err != nil {
		t.Fatal(err)
	}
	d, err := r.Get("d1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusEnabled || d.Auth != AuthCertificateAuthority {
		t.Fatalf("Get(d1) = %+v, want enabled certificateAuthority", d)
	}
	if err := r.Create(Device{ID: "d1"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	if err := r.Create(Device{}); err == nil {
		t.Fatal("Create with empty id succeeded")
	}
}

func TestConnectionStateIsCountedAndUnknownDevicesAreNotFound(t *testing.T) {
	r := New()
	r.Create(Device{ID: "a"})
	r.Create(Device{ID: "b"})
	now := time.Unix(100, 0)
	if err := r.SetConnected("a", true, now); err != nil {
		t.Fatal(err)
	}
	if got := r.ConnectedCount(); got != 1 {
		t.Fatalf("ConnectedCount = %d, want 1", got)
	}
	if err := r.SetConnected("zz", true, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetConnected(unknown) = %v, want ErrNotFound", err)
	}
	if err := r.SetStatus("b", StatusDisabled); err != nil {
		t.Fatal(err)
	}
	list := r.List()
	if len(list) != 2 || list[0].ID != "a" || list[1].Status != StatusDisabled {
		t.Fatalf("List = %+v", list)
	}
}
