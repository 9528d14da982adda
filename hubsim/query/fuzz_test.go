package query

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParse: Parse never panics; an error is a *SyntaxError positioned
// inside the text (or just after it); a parsed query's canonical form
// parses to the same canonical form, and running it never panics. Seeds
// are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("SELECT * FROM devices WHERE tags.a = 'b'")
	all := docs(f)
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", src, err, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(src)+1 {
				t.Fatalf("Parse(%q) error position %d outside the text", src, se.Pos)
			}
			return
		}
		canon := q.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its canonical form %q fails: %v", src, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable:\n  %s\n  %s", canon, again.String())
		}
		rows := q.Run(all)
		if q.Top > 0 && len(rows) > q.Top {
			t.Fatalf("%q returned %d rows, more than TOP %d", src, len(rows), q.Top)
		}
	})
}
