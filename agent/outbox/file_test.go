package outbox

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

func openFile(t testing.TB, path string, logs *logBuffer, opts ...Option) (*Store, *bbolt.DB) {
	t.Helper()
	s, db, err := OpenFile(path, "dev-1", Limits{}, logs.logger(), opts...)
	if err != nil {
		t.Fatalf("OpenFile(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return s, db
}

func TestOpenFileCreatesAPrivateFileThatKeepsItems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.db")
	var logs logBuffer
	s, db := openFile(t, path, &logs)
	mustPut(t, s, telemetry("t1"))
	if s.Recovered() != "" {
		t.Errorf("Recovered = %q on a new file, want \"\"", s.Recovered())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	_ = db.Close()
	s, _ = openFile(t, path, &logs)
	if got := ids(mustNext(t, s, 10)); !slices.Equal(got, []string{"t1"}) || s.Recovered() != "" {
		t.Errorf("after reopen Next = %v, Recovered = %q; want [t1], \"\"", got, s.Recovered())
	}
}

// TestOpenFileSetsAsideAnUnreadableFile: a corrupt state file must not stop
// the agent; it is kept for analysis and the agent starts empty.
func TestOpenFileSetsAsideAnUnreadableFile(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, path string)
		wantMsg string
	}{
		{"random bytes", func(t *testing.T, path string) {
			writeFile(t, path, randomBytes(t, 64<<10))
		}, "invalid"},
		{"shorter than two pages", func(t *testing.T, path string) {
			writeFile(t, path, randomBytes(t, 100))
		}, "invalid"},
		{"truncated real database", func(t *testing.T, path string) {
			used := realDB(t, path)
			if err := os.Truncate(path, used/2); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"real database cut after its meta pages", func(t *testing.T, path string) {
			realDB(t, path)
			if err := os.Truncate(path, 2*4096); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"random bytes over its data pages", func(t *testing.T, path string) {
			used := realDB(t, path)
			overwrite(t, path, 2*4096, randomBytes(t, int(used)-2*4096))
		}, "damaged"},
		{"zeroed meta pages", func(t *testing.T, path string) {
			realDB(t, path)
			overwrite(t, path, 0, make([]byte, 2*4096))
		}, "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "agent.db")
			tc.damage(t, path)
			damaged, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			s, _ := openFile(t, path, &logs)
			asides, _ := filepath.Glob(path + ".corrupt-*")
			if len(asides) != 1 {
				t.Fatalf("files set aside: %v, want one %s.corrupt-<unix>", asides, path)
			}
			if kept, _ := os.ReadFile(asides[0]); !bytes.Equal(kept, damaged) {
				t.Errorf("%s does not hold the damaged file's bytes", asides[0])
			}
			rec := s.Recovered()
			t.Logf("Recovered: %s", rec)
			if !strings.Contains(rec, asides[0]) || !strings.Contains(rec, tc.wantMsg) {
				t.Errorf("Recovered = %q, want it to name %s and say %q", rec, asides[0], tc.wantMsg)
			}
			if !strings.Contains(logs.String(), "set aside") {
				t.Errorf("no log line about the recovery:\n%s", logs.String())
			}
			if got := ids(mustNext(t, s, 10)); len(got) != 0 {
				t.Errorf("fresh store Next = %v, want empty", got)
			}
			mustPut(t, s, telemetry("after"))
		})
	}
}

// realDB writes a store with enough items to span many pages, and returns
// the size its pages need.
func realDB(t *testing.T, path string) int64 {
	t.Helper()
	var logs logBuffer
	s, db, err := OpenFile(path, "dev-1", Limits{}, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	batch := make([]Item, 400)
	for i := range batch {
		batch[i] = telemetry(fmt.Sprintf("m%d", i))
		batch[i].Payload = bytes.Repeat([]byte{'x'}, 1000)
	}
	if _, err := s.PutMany(batch); err != nil {
		t.Fatal(err)
	}
	var used int64
	_ = db.View(func(tx *bbolt.Tx) error { used = tx.Size(); return nil })
	if used < 100*4096 {
		t.Fatalf("test database uses %d bytes; want many pages", used)
	}
	return used
}

func TestOpenFileDoesNotSetAsideALockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.db")
	var logs logBuffer
	s, _ := openFile(t, path, &logs)
	mustPut(t, s, telemetry("t1"))
	_, _, err := OpenFile(path, "dev-1", Limits{}, logs.logger(), WithOpenTimeout(100*time.Millisecond))
	if !errors.Is(err, berrors.ErrTimeout) || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("OpenFile(locked) = %v, want a 'locked' error wrapping bbolt's ErrTimeout", err)
	}
	if asides, _ := filepath.Glob(path + ".corrupt-*"); len(asides) != 0 {
		t.Errorf("a locked file was set aside: %v", asides)
	}
}

func TestOpenFileInAMissingDirectoryIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "agent.db")
	_, _, err := OpenFile(path, "dev-1", Limits{}, nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenFile(%s) = %v, want an error naming the path", path, err)
	}
}

func TestMoveAsideNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.db")
	now := time.Unix(1_700_000_000, 0)
	var got []string
	for i := range 3 {
		writeFile(t, path, []byte{byte(i)})
		aside, err := moveAside(path, now)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(aside))
	}
	want := []string{"agent.db.corrupt-1700000000", "agent.db.corrupt-1700000000-2", "agent.db.corrupt-1700000000-3"}
	if !slices.Equal(got, want) {
		t.Errorf("moveAside names = %v, want %v", got, want)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(b, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestSharedFileHoldsIndependentStores(t *testing.T) {
	sh, err := OpenShared(filepath.Join(t.TempDir(), "fleet.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sh.Store("dev-a", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sh.Store("dev-b", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Put(Item{Class: ClassTelemetry, ID: "a-1"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Len(); n != 0 {
		t.Fatalf("store b holds %d items of store a", n)
	}
	a.Close()
	b.Close()
	if err := sh.Close(); err != nil {
		t.Fatal(err)
	}
}
