package logship

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// touch writes name under dir with the given modification time.
func touch(t *testing.T, dir, name string, mod time.Time) string {
	t.Helper()
	p := writeFile(t, dir, name, []byte(name+"\n"))
	if err := os.Chtimes(p, mod, mod); err != nil {
		t.Fatal(err)
	}
	return p
}

func rels(cs []candidate) string {
	var out []string
	for _, c := range cs {
		s := c.Rel
		if c.Reject != "" {
			s += "!"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestSelectFilesByTimeRangeAndRetention: files are chosen by
// modification time, oldest first; for rotated logs the file being
// written at the end of the range comes too; retention is a hard limit.
func TestSelectFilesByTimeRangeAndRetention(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	touch(t, dir, "carto.log.3", now.Add(-72*time.Hour))
	touch(t, dir, "carto.log.2", now.Add(-48*time.Hour))
	touch(t, dir, "carto.log.1", now.Add(-24*time.Hour))
	touch(t, dir, "carto.log", now.Add(-time.Minute))
	touch(t, dir, "notes.txt", now.Add(-time.Minute))
	logs := Source{Name: "device", Kind: KindDeviceLog, Root: dir, Patterns: []string{"carto.log*"}}
	cases := Source{Name: "cases", Kind: KindCaseExport, Root: dir, Patterns: []string{"carto.log*"}}
	tests := []struct {
		name string
		src  Source
		w    window
		want string
	}{
		{"everything", logs, window{}, "carto.log.3 carto.log.2 carto.log.1 carto.log"},
		{"range plus the file written at its end", logs, window{now.Add(-50 * time.Hour), now.Add(-30 * time.Hour)}, "carto.log.2 carto.log.1"},
		{"open end", logs, window{from: now.Add(-2 * time.Hour)}, "carto.log"},
		{"case exports: the range only", cases, window{now.Add(-50 * time.Hour), now.Add(-30 * time.Hour)}, "carto.log.2"},
		{"retention", withRetention(logs, 36*time.Hour), window{}, "carto.log.1 carto.log"},
		{"nothing in range", cases, window{now.Add(-10 * time.Hour), now.Add(-5 * time.Hour)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := selectFiles(tc.src, "", tc.w, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := rels(cs); got != tc.want {
				t.Errorf("selected %q, want %q", got, tc.want)
			}
		})
	}
}

func withRetention(s Source, d time.Duration) Source { s.Retention = d; return s }

// TestSelectCaseFilesOnlyFromTheExportFolder: case exports are walked
// recursively; a requested path outside the folder is refused; a symlink
// whose target leaves the folder is rejected, never read (issue 6).
func TestSelectCaseFilesOnlyFromTheExportFolder(t *testing.T) {
	now := time.Now()
	outside := t.TempDir()
	secret := writeFile(t, outside, "other-patient.bin", []byte("x"))
	root := t.TempDir()
	writeFile(t, root, "case-1/map.bin", []byte("m"))
	writeFile(t, root, "case-1/ecg/lead1.bin", []byte("e"))
	writeFile(t, root, "case-2/map.bin", []byte("m"))
	if err := os.Symlink(secret, filepath.Join(root, "case-2", "escape.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "case-1", "map.bin"), filepath.Join(root, "case-2", "inside.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "linked-dir")); err != nil {
		t.Fatal(err)
	}
	src := Source{Name: "cases", Kind: KindCaseExport, Root: root}
	tests := []struct{ sub, want string }{
		{"", "case-1/ecg/lead1.bin case-1/map.bin case-2/escape.bin! case-2/inside.bin case-2/map.bin linked-dir!"},
		{"case-1", "case-1/ecg/lead1.bin case-1/map.bin"},
		{"case-2/map.bin", "case-2/map.bin"},
		{"linked-dir", "linked-dir!"},
	}
	for _, tc := range tests {
		cs, err := selectFiles(src, tc.sub, window{}, now)
		if err != nil {
			t.Fatalf("sub %q: %v", tc.sub, err)
		}
		sortByRel(cs)
		if got := rels(cs); got != tc.want {
			t.Errorf("sub %q: selected %q, want %q", tc.sub, got, tc.want)
		}
		for _, c := range cs {
			if c.Reject != "" && c.Path != "" {
				t.Errorf("rejected %s carries a path to read", c.Rel)
			}
		}
	}
	for _, sub := range []string{"../" + filepath.Base(outside), "/etc", "case-1/../../x"} {
		if _, err := selectFiles(src, sub, window{}, now); !errors.Is(err, ErrOutsideRoot) {
			t.Errorf("sub %q: err %v, want ErrOutsideRoot", sub, err)
		}
	}
}

func sortByRel(cs []candidate) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Rel < cs[j-1].Rel; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}
