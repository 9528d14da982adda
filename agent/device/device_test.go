package device

import "testing"

func TestCaseStateNames(t *testing.T) {
	for s, want := range map[CaseState]string{CaseUnknown: "unknown", CaseIdle: "idle", CaseLive: "live", 9: "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("CaseState(%d).String() = %q, want %q", s, got, want)
		}
	}
}
