package logship

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// candidate is a file chosen for a job.
type candidate struct {
	Source  string
	Kind    Kind
	Path    string // resolved (symlinks followed), inside the source's root
	Rel     string // slash-separated name under the root, as matched
	ModTime time.Time
	Reject  string // non-empty: not uploaded, and why (no PHI: the reason only)
}

// window is a job's time range; zero ends are open.
type window struct{ from, to time.Time }

func (w window) has(t time.Time) bool {
	return (w.from.IsZero() || !t.Before(w.from)) && (w.to.IsZero() || !t.After(w.to))
}

// selectFiles lists the files of src (or of the file or folder sub inside
// its root) last modified within w and within the source's retention at
// now, oldest first. For rotated logs it adds the oldest file modified
// after w.to: the one that was being written at w.to. A file whose path or
// symlink target leaves the root is returned with Reject set; a sub that
// leaves the root is ErrOutsideRoot.
func selectFiles(src Source, sub string, w window, now time.Time) ([]candidate, error) {
	root, err := filepath.EvalSymlinks(src.Root)
	if err != nil {
		return nil, fmt.Errorf("source %s: root folder: %w", src.Name, err)
	}
	paths, err := matches(src, sub)
	if err != nil {
		return nil, err
	}
	var in, after []candidate
	for _, p := range paths {
		c, ok := inspect(src, root, p)
		if !ok {
			continue
		}
		switch {
		case src.Retention > 0 && c.ModTime.Before(now.Add(-src.Retention)):
		case w.has(c.ModTime):
			in = append(in, c)
		case src.Kind.text() && !w.to.IsZero() && c.ModTime.After(w.to):
			after = append(after, c)
		}
	}
	sortByTime(after)
	if len(after) > 0 {
		in = append(in, after[0])
	}
	sortByTime(in)
	return in, nil
}

func sortByTime(cs []candidate) {
	sort.SliceStable(cs, func(i, j int) bool {
		if !cs[i].ModTime.Equal(cs[j].ModTime) {
			return cs[i].ModTime.Before(cs[j].ModTime)
		}
		return cs[i].Rel < cs[j].Rel
	})
}

// matches returns the paths the source's patterns match (under sub, if
// given).
func matches(src Source, sub string) ([]string, error) {
	base := src.Root
	if sub != "" {
		if !filepath.IsLocal(filepath.FromSlash(sub)) {
			return nil, fmt.Errorf("source %s: %w", src.Name, ErrOutsideRoot)
		}
		base = filepath.Join(src.Root, filepath.FromSlash(sub))
		if fi, err := os.Stat(base); err == nil && !fi.IsDir() {
			return []string{base}, nil
		}
	}
	patterns := src.Patterns
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	if src.Kind == KindCaseExport || sub != "" {
		return walk(base, patterns)
	}
	var out []string
	for _, pat := range patterns {
		m, err := filepath.Glob(filepath.Join(base, pat))
		if err != nil {
			return nil, fmt.Errorf("source %s: pattern %q: %w", src.Name, pat, err)
		}
		out = append(out, m...)
	}
	return dedupe(out), nil
}

// walk lists the files under dir whose base name matches a pattern,
// without following symlinked folders.
func walk(dir string, patterns []string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // an unreadable subfolder is skipped, not fatal
		}
		if d.IsDir() {
			return nil
		}
		for _, pat := range patterns {
			if ok, _ := filepath.Match(filepath.Base(pat), d.Name()); ok {
				out = append(out, p)
				break
			}
		}
		return nil
	})
	return out, err
}

func dedupe(ps []string) []string {
	sort.Strings(ps)
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// inspect resolves p and checks that it is a regular file inside root. ok
// is false for what is silently skipped (folders, files gone meanwhile).
func inspect(src Source, root, p string) (candidate, bool) {
	rel, err := filepath.Rel(src.Root, p)
	if err != nil {
		return candidate{}, false
	}
	c := candidate{Source: src.Name, Kind: src.Kind, Rel: filepath.ToSlash(rel)}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return candidate{}, false
	}
	if !inside(root, real) {
		li, err := os.Lstat(p)
		if err != nil {
			return candidate{}, false
		}
		c.Reject, c.ModTime = "symlink target outside the configured folder", li.ModTime().UTC()
		return c, true
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return candidate{}, false
	}
	c.Path, c.ModTime = real, fi.ModTime().UTC()
	return c, true
}

// inside reports whether p lies in (or is) root; both are resolved paths.
func inside(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
