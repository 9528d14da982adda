package scripts

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckArgv lists commands a package may and may not give.
func TestCheckArgv(t *testing.T) {
	names := map[string]bool{"install.sh": true, "install.cmd": true, "install.ps1": true, "tool": true}
	tests := []struct {
		argv []string
		want string // "" = accepted
	}{
		{[]string{"sh", "./install.sh"}, ""},
		{[]string{"sh", "-eu", "./install.sh", "--verbose"}, ""},
		{[]string{"./tool", "install"}, ""},
		{[]string{"cmd.exe", "/c", `.\install.cmd`}, ""},
		{[]string{"powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", "./install.ps1"}, ""},
		{[]string{"msiexec.exe", "/quiet", "/norestart"}, ""},
		{[]string{"sh", "-c", "echo installed"}, ""},
		{nil, "missing or empty command"},
		{[]string{""}, "must be a program name"},
		{[]string{"bin/sh", "./install.sh"}, "must be a program name"},
		{[]string{"/bin/sh", "./install.sh"}, "must be a program name"},
		{[]string{`C:\Windows\System32\cmd.exe`}, "must be a program name"},
		{[]string{".."}, "must be a program name"},
		{[]string{"./missing.sh"}, "is not one of the update's (signed) files"},
		{[]string{"sh", "./missing.sh"}, "is not one of the update's (signed) files"},
		{[]string{"sh", "../install.sh"}, "leaves the slot"},
		{[]string{"sh", `..\install.sh`}, "leaves the slot"},
		{[]string{"sh", "./x/../install.sh"}, "leaves the slot"},
		{[]string{"sh", "./install.sh", "--root=../.."}, "leaves the slot"},
		{[]string{"sh", "/etc/profile"}, "absolute path"},
		{[]string{"sh", "/install.sh"}, "absolute path"},
		{[]string{"sh", "/"}, "absolute path"},
		{[]string{"sh", `\\server\share\x.sh`}, "absolute path"},
		{[]string{"sh", "C:/x.sh"}, "absolute path"},
		{[]string{"sh", "./sub/install.sh"}, "not a file at the top of the slot"},
		{[]string{"sh", "a\x00b"}, "NUL"},
		{[]string{"sh", strings.Repeat("x", maxArgBytes+1)}, "longer than"},
		{make([]string, maxArgs+1), "more than"},
	}
	for _, tc := range tests {
		err := checkArgv(tc.argv, names)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("checkArgv(%q) = %v, want accepted", tc.argv, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("checkArgv(%q) = %v, want an error containing %q", tc.argv, err, tc.want)
		}
	}
}

// TestParsePackageRequiresEveryStepButCommit: commit is optional, the
// other steps are not, and nothing may follow the object.
func TestParsePackageRequiresEveryStepButCommit(t *testing.T) {
	names := map[string]bool{"x.sh": true}
	full := `{"install": ["sh", "./x.sh"], "activate": ["sh", "./x.sh"], "health": ["sh", "./x.sh"], "rollback": ["sh", "./x.sh"]`
	if p, err := parsePackage([]byte(full+"}"), names); err != nil || p.Commit != nil {
		t.Fatalf("parsePackage without commit = %+v, %v; want accepted with no commit", p, err)
	}
	if _, err := parsePackage([]byte(full+`, "commit": []}`), names); err == nil {
		t.Fatal("an empty commit command was accepted")
	}
	if _, err := parsePackage([]byte(full+"} {}"), names); !errors.Is(err, ErrBadPackage) {
		t.Fatalf("trailing data: %v, want ErrBadPackage", err)
	}
}

// TestTailKeepsTheLastBytes: output beyond tailBytes keeps its end.
func TestTailKeepsTheLastBytes(t *testing.T) {
	var tl tail
	for i := range 3000 {
		tl.Write([]byte{byte('a' + i%26), '\n'})
	}
	tl.Write([]byte("end"))
	s := tl.String()
	if !strings.HasPrefix(s, "...") || !strings.HasSuffix(s, "end") || len(s) > tailBytes+3 {
		t.Fatalf("tail = %d bytes %.20q...%q, want the last %d bytes marked as cut", len(s), s, s[len(s)-10:], tailBytes)
	}
	var big tail
	big.Write([]byte(strings.Repeat("x", 3*tailBytes) + "end"))
	if s := big.String(); !strings.HasSuffix(s, "end") || len(s) != tailBytes+3 {
		t.Fatalf("tail of one large write = %d bytes, want %d ending in end", len(s), tailBytes+3)
	}
}

// FuzzParsePackage: no input panics, and an accepted package only runs
// package files or bare program names.
func FuzzParsePackage(f *testing.F) {
	f.Add(`{"install": ["sh", "./x.sh"], "activate": ["./x.sh"], "health": ["sh", "-c", "true"], "rollback": ["cmd.exe", "/c", ".\\x.sh"]}`)
	f.Add(`{"install": ["sh", "../x.sh"]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parsePackage([]byte(raw), map[string]bool{"x.sh": true})
		if err != nil {
			if !errors.Is(err, ErrBadPackage) {
				t.Fatalf("error %v does not wrap ErrBadPackage", err)
			}
			return
		}
		for _, step := range []string{stepInstall, stepActivate, stepHealth, stepRollback} {
			argv := p.argv(step)
			if name, ok := slotFile(argv[0]); !(ok && name == "x.sh") && !plainName(argv[0]) {
				t.Fatalf("accepted program %q", argv[0])
			}
		}
	})
}
