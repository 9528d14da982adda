package agent

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// LogsConfig configures log delivery (agent/logship). With no sources it
// is off.
type LogsConfig struct {
	// Sources are the configured sets of files. When Config.AuditLogPath
	// is set the agent adds the audit log as source AuditSource (kind
	// logship.KindAuditLog, never redacted) unless one of these already
	// has that name or kind.
	Sources []logship.Source
	// Redaction patterns run on text logs before upload; nil:
	// logship.DefaultPatterns() (patient names, MRNs, dates of birth).
	Redaction []logship.Pattern
	// BytesPerSecond caps upload bandwidth at all times; 0: no cap.
	BytesPerSecond int64
	// ScheduleSources are the sources of twin-scheduled uploads; empty: all.
	ScheduleSources []string
	// HTTPSAddress is the hub's HTTPS host:port; default HostName:443.
	HTTPSAddress string
}

// AuditSource is the name of the built-in log source that ships the audit
// log (uploadLogs {"sources": ["audit"]}, schedules, error triggers).
const AuditSource = "audit"

// logSources are the configured sources plus the audit log's.
func (a *Agent) logSources() []logship.Source {
	srcs := a.cfg.Logs.Sources
	path := a.cfg.AuditLogPath
	if path == "" {
		return srcs
	}
	for _, s := range srcs {
		if s.Name == AuditSource || s.Kind == logship.KindAuditLog {
			return srcs
		}
	}
	return append(slices.Clip(srcs), auditLogSource(path))
}

// auditLogSource ships the audit log at path: the file, and any copies a
// log rotator renamed beside it ("audit.log.1"). The guard's AuditLog only
// appends, and logship uploads exactly the bytes present when a file's
// upload starts, so lines written meanwhile go with the next upload, and a
// renamed copy is followed by its identity. Audit entries carry no PHI by
// construction, and an audit trail must reach the cloud as written: no
// redaction.
func auditLogSource(path string) logship.Source {
	base := escapeGlob(filepath.Base(path))
	return logship.Source{Name: AuditSource, Kind: logship.KindAuditLog, Root: filepath.Dir(path),
		Patterns: []string{base, base + ".*"}, Raw: true}
}

// escapeGlob makes name a filepath.Match pattern that matches only itself:
// each metacharacter becomes a one-character class.
func escapeGlob(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch r {
		case '*', '?', '[':
			b.WriteString("[" + string(r) + "]")
		case '\\': // a base name holds one only on Unix, where Match reads it as an escape
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// openLogs builds the log shipper on the agent's store and guard.
func (a *Agent) openLogs() error {
	c := a.cfg
	patterns := c.Logs.Redaction
	if patterns == nil {
		patterns = logship.DefaultPatterns()
	}
	red, err := logship.NewRedactor(patterns...)
	if err != nil {
		return fmt.Errorf("agent logs: %w", err)
	}
	var rnd *rand.Rand
	if c.Rand != nil {
		rnd = rand.New(rand.NewPCG(c.Rand.Uint64(), c.Rand.Uint64()))
	}
	a.logs, err = logship.New(logship.Config{
		DeviceID: c.Hub.DeviceID, HostName: c.Hub.HostName, Address: c.Logs.HTTPSAddress,
		RootCAs: c.Hub.RootCAs, Certificate: c.Hub.Certificate, Dial: logship.DialFunc(c.Hub.Dial),
		Sources: a.logSources(), Redactor: red, Store: a.store, Waiter: a.gate,
		OnStatus: a.reportLogUpload, BytesPerSecond: c.Logs.BytesPerSecond,
		Now: c.Now, Rand: rnd, Logger: a.log.With("subsystem", "logship"),
	})
	if err != nil {
		return fmt.Errorf("agent logs: %w", err)
	}
	return nil
}

// reportLogUpload merges one job's status into reported logUploads; a nil
// status (a forgotten job) becomes null and removes it from the twin.
func (a *Agent) reportLogUpload(id string, st map[string]any) {
	var v any
	if st != nil {
		v = st
	}
	a.queueReport(map[string]any{logship.ReportedUploads: map[string]any{id: v}})
	a.signal()
}

// Logs is the log shipper (nil when log delivery is off).
func (a *Agent) Logs() *logship.Shipper { return a.logs }
