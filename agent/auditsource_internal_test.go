package agent

import (
	"path/filepath"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// TestAuditLogIsABuiltInLogSource: with an audit log, log delivery gains
// the source "audit" (unredacted, the file and its rotated copies), unless
// a configured source already has that name or the audit kind.
func TestAuditLogIsABuiltInLogSource(t *testing.T) {
	device := logship.Source{Name: "device", Kind: logship.KindDeviceLog, Root: "/var/log/carto"}
	tests := []struct {
		name    string
		path    string
		sources []logship.Source
		want    []string // source names
	}{
		{"no audit log", "", []logship.Source{device}, []string{"device"}},
		{"added", "/var/lib/cp/audit.log", []logship.Source{device}, []string{"device", "audit"}},
		{"name taken", "/var/lib/cp/audit.log", []logship.Source{device, {Name: "audit", Kind: logship.KindAgentLog}}, []string{"device", "audit"}},
		{"kind configured", "/var/lib/cp/audit.log", []logship.Source{{Name: "trail", Kind: logship.KindAuditLog}}, []string{"trail"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Agent{cfg: Config{AuditLogPath: tc.path, Logs: LogsConfig{Sources: tc.sources}}}
			got := a.logSources()
			if len(got) != len(tc.want) {
				t.Fatalf("logSources = %+v, want %v", got, tc.want)
			}
			for i, s := range got {
				if s.Name != tc.want[i] {
					t.Errorf("source %d = %q, want %q", i, s.Name, tc.want[i])
				}
			}
			if len(tc.sources) > 0 && len(got) > len(tc.sources) && &got[0] == &tc.sources[0] {
				t.Error("logSources appended into the caller's slice")
			}
		})
	}
	src := auditLogSource(filepath.Join("/var/lib/cp", "audit[1].log"))
	if src.Kind != logship.KindAuditLog || !src.Raw || src.Root != "/var/lib/cp" {
		t.Fatalf("audit source = %+v, want raw, kind auditLog, rooted at the log's folder", src)
	}
	for name, want := range map[string]bool{"audit[1].log": true, "audit[1].log.1": true, "audit1.log": false, "other.log": false} {
		matched := false
		for _, p := range src.Patterns {
			if ok, err := filepath.Match(p, name); err != nil {
				t.Fatalf("pattern %q: %v", p, err)
			} else if ok {
				matched = true
			}
		}
		if matched != want {
			t.Errorf("audit source patterns %q match %q: %v, want %v", src.Patterns, name, matched, want)
		}
	}
}
