package blob

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSASSignedBeforeARestartStillWorks: the account key is kept in the
// store's directory, so a server on a reopened store (a hub restarted on
// its state directory) accepts the SAS URLs handed out before.
func TestSASSignedBeforeARestartStillWorks(t *testing.T) {
	dir := t.TempDir()
	s1, err := OpenStore(dir, StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	before := NewServer(s1, nil, nil).SAS("updates", "p/n/1.0/a.img", "r", exp)
	s2, err := OpenStore(dir, StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if after := NewServer(s2, nil, nil).SAS("updates", "p/n/1.0/a.img", "r", exp); after != before {
		t.Fatalf("SAS after reopening = %s, want the same as before (%s)", after, before)
	}
	other, err := OpenStore(t.TempDir(), StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if NewServer(other, nil, nil).SAS("updates", "p/n/1.0/a.img", "r", exp) == before {
		t.Fatal("two stores in different directories sign alike: the key is not random")
	}
	if fi, err := os.Stat(filepath.Join(dir, accountKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("account key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

// TestDamagedAccountKeyIsRefused: a key file that is not a 32-byte hex
// key stops the store with an error naming it, rather than being replaced
// (which would silently break every URL signed with the old key).
func TestDamagedAccountKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, accountKeyFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenStore(dir, StoreConfig{})
	if err == nil || !strings.Contains(err.Error(), accountKeyFile) {
		t.Fatalf("OpenStore = %v, want an error naming %s", err, accountKeyFile)
	}
}
