package guard

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Audit decisions and the pseudo-actions that are not an Action.
const (
	DecisionDefer  = "defer"  // an action was held
	DecisionResume = "resume" // a held action may run again
	DecisionAllow  = "allow"  // an action was allowed (first decision, or any Activate)

	AuditCaseState = "case-state" // Decision is the observed state (idle, live, unknown)
	AuditDropped   = "audit"      // Decision "dropped": entries lost to the in-memory cap
)

// MaxPendingAudit caps the audit entries a Guard holds between drains; on
// overflow the oldest are dropped and the next Drain says how many.
const MaxPendingAudit = 1024

// AuditEntry is one line of the append-only audit log. The guard writes
// its own decisions; other subsystems (agent/update, the agent's direct
// methods) write theirs in the same shape, naming their own Action and
// Decision and putting what identifies the decision in Details.
type AuditEntry struct {
	At       time.Time `json:"at"`
	Action   string    `json:"action"`   // an Action's name, AuditCaseState, AuditDropped, or another subsystem's
	Decision string    `json:"decision"` // DecisionDefer, DecisionResume, DecisionAllow, a case state, or another subsystem's
	Reason   string    `json:"reason,omitempty"`
	RetryAt  time.Time `json:"retryAt,omitzero"`
	// Details identify what was decided (workflow, update id, result
	// code...); JSON-friendly values only, never PHI or key material.
	Details map[string]any `json:"details,omitempty"`
}

// auditTrail is a bounded queue of entries; not safe for concurrent use.
type auditTrail struct {
	entries []AuditEntry
	dropped int
}

func (a *auditTrail) add(e AuditEntry) {
	if len(a.entries) >= MaxPendingAudit {
		a.entries = append(a.entries[:0], a.entries[1:]...)
		a.dropped++
	}
	a.entries = append(a.entries, e)
}

func (a *auditTrail) snapshot() []AuditEntry {
	out := make([]AuditEntry, 0, len(a.entries)+1)
	if a.dropped > 0 && len(a.entries) > 0 {
		out = append(out, AuditEntry{
			At: a.entries[0].At, Action: AuditDropped, Decision: "dropped",
			Reason: fmt.Sprintf("%d older entries dropped: audit not drained", a.dropped),
		})
	}
	return append(out, a.entries...)
}

func (a *auditTrail) drain() []AuditEntry {
	out := a.snapshot()
	a.entries, a.dropped = nil, 0
	return out
}

// AuditLog appends audit entries to a file as JSON lines, one fsync per
// Append, for shipping off the device. It is safe for concurrent use.
type AuditLog struct {
	mu sync.Mutex // guards f
	f  *os.File
}

// OpenAuditLog opens (creating, mode 0600) the log at path for appending.
// If a power loss left a partial last line, it is terminated first so the
// next entry starts on a line of its own.
func OpenAuditLog(path string) (*AuditLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if err := terminateLastLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	return &AuditLog{f: f}, nil
}

func terminateLastLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := f.Write([]byte{'\n'}); err != nil {
		return err
	}
	return f.Sync()
}

// Append writes entries, one JSON object per line, and syncs the file.
func (l *AuditLog) Append(entries ...AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var buf []byte
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("append audit entry: %w", err)
		}
		buf = append(append(buf, b...), '\n')
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	if _, err := l.f.Write(buf); err != nil {
		return fmt.Errorf("append audit entries: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("sync audit log: %w", err)
	}
	return nil
}

// Close closes the file. Closing twice returns os.ErrClosed.
func (l *AuditLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	err := l.f.Close()
	l.f = nil
	return err
}
