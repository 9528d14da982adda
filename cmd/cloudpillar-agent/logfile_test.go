package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRotatingFileRotates writes 10-byte records into a 25-byte file with
// two backups and checks which records land where.
func TestRotatingFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "agent.log") // the folder is created
	r, err := openRotating(path, 25, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := fmt.Fprintf(r, "record %02d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Two records fit per file: 0-1, 2-3 (removed), ... 4-5 in .1, 6 live.
	want := map[string]string{
		path:        "record 06\n",
		path + ".1": "record 04\nrecord 05\n",
		path + ".2": "record 02\nrecord 03\n",
	}
	for p, w := range want {
		if got := readFile(t, p); got != w {
			t.Errorf("%s = %q, want %q", filepath.Base(p), got, w)
		}
	}
	if _, err := os.Stat(path + ".3"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s.3 exists (err %v); only 2 rotated files may be kept", filepath.Base(path), err)
	}
}

// TestRotatingFileAppendsAndCounts: reopening appends and counts the
// existing size towards the limit.
func TestRotatingFileAppendsAndCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	writeFile(t, path, "old 12345\n")
	r, err := openRotating(path, 15, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.Write([]byte("new 1\n")) // 10+6 > 15: rotates first
	r.Close()
	if got := readFile(t, path+".1"); got != "old 12345\n" {
		t.Errorf("agent.log.1 = %q, want the old content", got)
	}
	if got := readFile(t, path); got != "new 1\n" {
		t.Errorf("agent.log = %q, want %q", got, "new 1\n")
	}
}

// TestRotatingFileOversizedRecord: a record larger than the limit is
// written whole, never split.
func TestRotatingFileOversizedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	r, err := openRotating(path, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 20) + "\n"
	for _, rec := range []string{"a\n", big, "b\n"} {
		if n, err := r.Write([]byte(rec)); err != nil || n != len(rec) {
			t.Fatalf("Write(%q) = %d, %v", rec, n, err)
		}
	}
	r.Close()
	for p, want := range map[string]string{path: "b\n", path + ".1": big, path + ".2": "a\n"} {
		if got := readFile(t, p); got != want {
			t.Errorf("%s = %q, want %q", filepath.Base(p), got, want)
		}
	}
}

// TestRotatingFileConcurrent: concurrent writers never interleave inside
// a record and lose nothing that the kept files can hold.
func TestRotatingFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	const writers, each = 8, 200
	r, err := openRotating(path, 4096, 100) // room for everything: 1600 records of 13 bytes
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				fmt.Fprintf(r, "w%d-%04d-%s\n", w, i, strings.Repeat("z", 4))
			}
		})
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	matches, _ := filepath.Glob(path + "*")
	for _, p := range matches {
		content := readFile(t, p)
		if info, _ := os.Stat(p); info.Size() > 4096 {
			t.Errorf("%s is %d bytes, over the 4096 limit", filepath.Base(p), info.Size())
		}
		all.WriteString(content)
	}
	lines := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	if len(lines) != writers*each {
		t.Fatalf("found %d records, want %d", len(lines), writers*each)
	}
	for _, l := range lines {
		if len(l) != 12 || !strings.HasSuffix(l, "-zzzz") {
			t.Fatalf("torn record %q", l)
		}
	}
}

func TestRotatingFileClosed(t *testing.T) {
	r, err := openRotating(filepath.Join(t.TempDir(), "agent.log"), 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := r.Write([]byte("late\n")); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write after Close = %v, want fs.ErrClosed", err)
	}
}

func TestOpenRotatingErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	writeFile(t, blocker, "x")
	tests := []struct {
		name     string
		path     string
		max      int64
		maxFiles int
	}{
		{"zero size", filepath.Join(dir, "a.log"), 0, 1},
		{"zero files", filepath.Join(dir, "a.log"), 10, 0},
		{"folder is a file", filepath.Join(blocker, "a.log"), 10, 1},
	}
	for _, tc := range tests {
		if r, err := openRotating(tc.path, tc.max, tc.maxFiles); err == nil {
			r.Close()
			t.Errorf("%s: openRotating = nil error, want one", tc.name)
		}
	}
}
