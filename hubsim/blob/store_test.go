package blob

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func content(t testing.TB, s *Store, name string) string {
	t.Helper()
	f, _, err := s.Open("c01", name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRecommitCommittedBlocks: Put Block List can reuse committed blocks
// (Committed, or Latest without a newer uncommitted one) and mix them with
// new ones; Put Blob discards uncommitted blocks.
func TestRecommitCommittedBlocks(t *testing.T) {
	s, err := NewStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	put := func(id, data string) {
		t.Helper()
		if _, err := s.PutBlock("c01", "b", id, strings.NewReader(data), Digests{}); err != nil {
			t.Fatal(err)
		}
	}
	put("AAAA", "a1")
	put("AAAB", "b1")
	if _, err := s.CommitBlockList("c01", "b", []BlockRef{{"AAAA", "Uncommitted"}, {"AAAB", "Latest"}}, Attrs{}, now); err != nil {
		t.Fatal(err)
	}
	put("AAAA", "A2") // a new uncommitted block with a committed block's ID
	p, err := s.CommitBlockList("c01", "b", []BlockRef{{"AAAB", "Committed"}, {"AAAA", "Latest"}, {"AAAA", "Committed"}}, Attrs{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := content(t, s, "b"); got != "b1A2a1" || p.Size != 6 || len(p.Blocks) != 3 {
		t.Fatalf("content %q, props %+v", got, p)
	}
	if _, err := s.CommitBlockList("c01", "b", []BlockRef{{"AAAA", "Uncommitted"}}, Attrs{}, now); !errors.Is(err, ErrInvalidList) {
		t.Fatalf("commit of a consumed uncommitted block = %v", err)
	}
	put("AAAC", "c")
	if _, err := s.Put("c01", "b", strings.NewReader("whole"), Attrs{}, Digests{}, now); err != nil {
		t.Fatal(err)
	}
	committed, uncommitted, err := s.BlockLists("c01", "b")
	if err != nil || len(committed) != 0 || len(uncommitted) != 0 || content(t, s, "b") != "whole" {
		t.Fatalf("after Put Blob: %v %v %v", committed, uncommitted, err)
	}
	if _, _, err := s.BlockLists("c01", "none"); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("BlockLists(none) = %v", err)
	}
}
