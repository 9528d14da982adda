package guard

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestAuditLogAppendsJSONLines: entries land one JSON object per line and
// survive reopening; a torn last line from a power loss is terminated so
// later entries stay parseable.
func TestAuditLogAppendsJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guard-audit.jsonl")
	e1 := AuditEntry{At: t0, Action: "download", Decision: DecisionDefer, Reason: ReasonLive}
	e2 := AuditEntry{At: t0.Add(time.Minute), Action: "activate", Decision: DecisionAllow}
	e3 := AuditEntry{At: t0.Add(2 * time.Minute), Action: "update", Decision: "rejected", Reason: "rollback",
		Details: map[string]any{"workflow": "wf-1", "resultCode": 0}}

	tests := []struct {
		name    string
		prefill string
		want    []string // JSON lines; "" = a line that must not parse
	}{
		{"fresh file", "", []string{
			`{"at":"2026-06-01T10:00:00Z","action":"download","decision":"defer","reason":"patient case live"}`,
			`{"at":"2026-06-01T10:01:00Z","action":"activate","decision":"allow"}`,
			`{"at":"2026-06-01T10:02:00Z","action":"update","decision":"rejected","reason":"rollback","details":{"resultCode":0,"workflow":"wf-1"}}`,
		}},
		{"torn last line", `{"at":"2026-06`, []string{
			"",
			`{"at":"2026-06-01T10:00:00Z","action":"download","decision":"defer","reason":"patient case live"}`,
			`{"at":"2026-06-01T10:01:00Z","action":"activate","decision":"allow"}`,
			`{"at":"2026-06-01T10:02:00Z","action":"update","decision":"rejected","reason":"rollback","details":{"resultCode":0,"workflow":"wf-1"}}`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := path + tc.name
			if tc.prefill != "" {
				if err := os.WriteFile(path, []byte(tc.prefill), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			l, err := OpenAuditLog(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Append(e1); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if l, err = OpenAuditLog(path); err != nil {
				t.Fatal(err)
			}
			if err := l.Append(e2, e3); err != nil {
				t.Fatal(err)
			}
			l.Close()
			got := readLines(t, path)
			if len(got) != len(tc.want) {
				t.Fatalf("log has %d lines %q, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				var e AuditEntry
				err := json.Unmarshal([]byte(got[i]), &e)
				if w == "" && err == nil || w != "" && got[i] != w {
					t.Errorf("line %d = %s, want %s", i, got[i], w)
				}
			}
		})
	}
}

func TestAuditLogClosed(t *testing.T) {
	l, err := OpenAuditLog(filepath.Join(t.TempDir(), "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(AuditEntry{At: t0}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Append after Close = %v, want os.ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close = %v, want os.ErrClosed", err)
	}
	if _, err := OpenAuditLog(filepath.Join(t.TempDir(), "missing", "a.jsonl")); err == nil {
		t.Error("OpenAuditLog in a missing directory succeeded")
	}
}
