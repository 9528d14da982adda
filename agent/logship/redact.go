package logship

import (
	"fmt"
	"regexp"
)

// Pattern is one redaction rule: every match of Regexp in a text log is
// replaced by Replace, which may refer to submatches as regexp.Expand does
// ("${1}[REDACTED]").
type Pattern struct {
	Name    string // counted under this name
	Regexp  string
	Replace string
}

// DefaultPatterns are the examples of issue 6: patient names after
// "Patient:", MRN-like numbers and dates of birth. A site extends them in
// its configuration. Patterns never span a line.
func DefaultPatterns() []Pattern {
	return []Pattern{
		{Name: "patientName", Regexp: `(Patient:[ \t]*)[^\r\n,;|]+`, Replace: "${1}[REDACTED]"},
		{Name: "mrn", Regexp: `MRN[:#]?[ \t]*\d{6,10}`, Replace: "MRN:[REDACTED]"},
		{Name: "dateOfBirth", Regexp: `DOB[: ]\d{4}-\d{2}-\d{2}`, Replace: "DOB:[REDACTED]"},
	}
}

// Redactor applies patterns in order. It is safe for concurrent use.
type Redactor struct {
	rules []rule
}

type rule struct {
	name string
	re   *regexp.Regexp
	tmpl []byte
}

// NewRedactor compiles patterns.
func NewRedactor(patterns ...Pattern) (*Redactor, error) {
	r := &Redactor{}
	for _, p := range patterns {
		re, err := regexp.Compile(p.Regexp)
		if err != nil {
			return nil, fmt.Errorf("redaction pattern %q: %w", p.Name, err)
		}
		r.rules = append(r.rules, rule{name: p.Name, re: re, tmpl: []byte(p.Replace)})
	}
	return r, nil
}

// MustRedactor is NewRedactor for patterns known to compile.
func MustRedactor(patterns ...Pattern) *Redactor {
	r, err := NewRedactor(patterns...)
	if err != nil {
		panic(err)
	}
	return r
}

// Redact appends text, with every match replaced, to dst and returns it
// with the number of replacements. text is not modified. Text is redacted
// in batches of whole lines, so a pattern must not match a line end.
func (r *Redactor) Redact(dst, text []byte) ([]byte, int) {
	n := 0
	cur := text
	for _, ru := range r.rules {
		ms := ru.re.FindAllSubmatchIndex(cur, -1)
		if len(ms) == 0 {
			continue
		}
		out := make([]byte, 0, len(cur)+16*len(ms))
		last := 0
		for _, m := range ms {
			out = append(out, cur[last:m[0]]...)
			out = ru.re.Expand(out, ru.tmpl, cur, m)
			last = m[1]
		}
		cur = append(out, cur[last:]...)
		n += len(ms)
	}
	return append(dst, cur...), n
}

// String redacts s (blob names and error texts sent to the hub).
func (r *Redactor) String(s string) string {
	out, n := r.Redact(nil, []byte(s))
	if n == 0 {
		return s
	}
	return string(out)
}
