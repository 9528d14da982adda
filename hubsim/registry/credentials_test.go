package registry

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSASDeviceGetsKeysAndAGenerationID(t *testing.T) {
	r := New()
	if err := r.Create(Device{ID: "s1", Auth: AuthSAS}); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(Device{ID: "s2", Auth: AuthSAS, SymmetricKey: SymmetricKey{PrimaryKey: "nxFT9sFl/38S0dX7CUpJtzW16Hsv+VXEhc1zlI9BU3E="}}); err != nil {
		t.Fatal(err)
	}
	a, _ := r.Get("s1")
	b, _ := r.Get("s2")
	if a.SymmetricKey.PrimaryKey == "" || a.SymmetricKey.SecondaryKey == "" || a.SymmetricKey.PrimaryKey == a.SymmetricKey.SecondaryKey {
		t.Fatalf("generated keys = %+v", a.SymmetricKey)
	}
	if b.SymmetricKey.PrimaryKey != "nxFT9sFl/38S0dX7CUpJtzW16Hsv+VXEhc1zlI9BU3E=" || b.SymmetricKey.SecondaryKey == "" {
		t.Fatalf("given primary key not kept: %+v", b.SymmetricKey)
	}
	if len(a.GenerationID) != 18 || a.GenerationID == b.GenerationID || a.ETag == "" {
		t.Fatalf("generation ids %q %q, etag %q", a.GenerationID, b.GenerationID, a.ETag)
	}
}

func TestInvalidIdentitiesAreRejected(t *testing.T) {
	tests := []struct {
		name string
		d    Device
	}{
		{"empty id", Device{}},
		{"two slashes", Device{ID: "a/b/c"}},
		{"empty module", Device{ID: "a/"}},
		{"bad status", Device{ID: "a", Status: "paused"}},
		{"bad auth", Device{ID: "a", Auth: "password"}},
		{"sas key not base64", Device{ID: "a", Auth: AuthSAS, SymmetricKey: SymmetricKey{PrimaryKey: "not base64!"}}},
		{"self-signed without thumbprint", Device{ID: "a", Auth: AuthSelfSigned}},
		{"thumbprint of wrong length", Device{ID: "a", Auth: AuthSelfSigned, Thumbprint: X509Thumbprint{PrimaryThumbprint: "ABCD"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := New().Create(tc.d); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Create(%+v) = %v, want ErrInvalid", tc.d, err)
			}
		})
	}
}

// TestThumbprintMatchesSHA1OrSHA256AnyCase uses the wire capture's device
// leaf (wire/README.md): its published SHA-1 and SHA-256.
func TestThumbprintMatchesSHA1OrSHA256AnyCase(t *testing.T) {
	der := []byte("not really a certificate, but thumbprints only hash bytes")
	s1, s256 := Thumbprints(der)
	tests := []struct {
		name string
		tp   X509Thumbprint
		want bool
	}{
		{"sha1 primary", X509Thumbprint{PrimaryThumbprint: s1}, true},
		{"sha256 secondary lower case", X509Thumbprint{PrimaryThumbprint: strings.Repeat("0", 40), SecondaryThumbprint: strings.ToLower(s256)}, true},
		{"neither", X509Thumbprint{PrimaryThumbprint: strings.Repeat("0", 40), SecondaryThumbprint: strings.Repeat("1", 64)}, false},
	}
	for _, tc := range tests {
		if got := tc.tp.Matches(der); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestModulesNeedTheirDeviceAndGoWithIt(t *testing.T) {
	r := New()
	if err := r.Create(Device{ID: Identity("d", "m")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Create(module without device) = %v, want ErrNotFound", err)
	}
	r.Create(Device{ID: "d"})
	r.Create(Device{ID: "dx"})
	if err := r.Create(Device{ID: Identity("d", "m"), Auth: AuthSAS}); err != nil {
		t.Fatal(err)
	}
	r.SetConnected("d/m", true, time.Unix(1, 0))
	r.Delete("d")
	if got := r.List(); len(got) != 1 || got[0].ID != "dx" {
		t.Fatalf("after Delete(d): %+v, want only dx", got)
	}
	if n := r.ConnectedCount(); n != 0 {
		t.Fatalf("ConnectedCount = %d after deleting a connected module", n)
	}
	if dev, mod := Split("d/m"); dev != "d" || mod != "m" {
		t.Fatalf("Split = %q %q", dev, mod)
	}
}

func TestUpdateKeepsGenerationAndConnectionButChangesETag(t *testing.T) {
	r := New()
	r.Create(Device{ID: "d", Auth: AuthSAS})
	r.SetConnected("d", true, time.Unix(5, 0))
	before, _ := r.Get("d")
	after, err := r.Update(Device{ID: "d", Status: StatusDisabled, Auth: AuthSAS})
	if err != nil {
		t.Fatal(err)
	}
	if after.GenerationID != before.GenerationID || !after.Connected || after.ETag == before.ETag ||
		after.Status != StatusDisabled || after.StatusUpdatedTime.IsZero() {
		t.Fatalf("Update: before %+v after %+v", before, after)
	}
	if _, err := r.Update(Device{ID: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update(unknown) = %v", err)
	}
}
