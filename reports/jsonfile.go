package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// ErrUnknownVerdict is wrapped by the errors of CheckVerdict, ReadJSON and
// the report writers when a verdict is neither VerdictPass nor VerdictFail.
var ErrUnknownVerdict = errors.New("unknown verdict")

// WriteJSON writes s to path as indented JSON with a trailing newline. It
// writes a temporary file in the same directory and renames it over path, so
// a reader sees either the old file or the complete new one, never a partial
// write. The file mode is 0644.
func WriteJSON(path string, s *Summary) error {
	if s == nil {
		return errors.New("write summary: nil summary")
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	return WriteAtomic(path, append(data, '\n'))
}

// ReadJSON reads a summary written by WriteJSON. Unknown fields are ignored
// (the schema is add-only, so newer writers may add some). It returns an
// error wrapping ErrUnknownVerdict if the verdict is not "pass" or "fail".
// Missing lists are returned as empty, non-nil slices.
func ReadJSON(path string) (*Summary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode summary %s: %w", path, err)
	}
	if err := CheckVerdict(s.Verdict); err != nil {
		return nil, fmt.Errorf("summary %s: %w", path, err)
	}
	s.normalize()
	return &s, nil
}

// CheckVerdict returns nil for VerdictPass and VerdictFail and an error
// wrapping ErrUnknownVerdict for anything else, including "".
func CheckVerdict(v string) error {
	switch v {
	case VerdictPass, VerdictFail:
		return nil
	}
	return fmt.Errorf("%w %q: want %q or %q", ErrUnknownVerdict, v, VerdictPass, VerdictFail)
}

// normalize replaces nil lists with empty ones.
func (s *Summary) normalize() {
	if s.Failures == nil {
		s.Failures = []string{}
	}
	if s.Timeline == nil {
		s.Timeline = []TimelineEvent{}
	}
	if s.Samples == nil {
		s.Samples = []Sample{}
	}
}
