package cloudpillar

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// listedPackage is the part of `go list -json` this test reads.
type listedPackage struct {
	ImportPath string
	Name       string
	Doc        string
	GoFiles    []string
}

// TestPackageDocs fails on any package without a package doc comment, or
// whose comment does not open the way go doc expects: "Package <name> ..."
// for a library, "Command <name> ..." for a main package (STYLE.md
// guideline 13).
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if problem := docProblem(p); problem != "" {
			t.Errorf("%s: %s", p.ImportPath, problem)
		}
	}
}

// docProblem says what is wrong with p's package doc, or "".
func docProblem(p listedPackage) string {
	if len(p.GoFiles) == 0 {
		return "" // test-only package, or nothing builds on this platform
	}
	if p.Doc == "" {
		return "no package doc comment (add a doc.go)"
	}
	want := "Package " + p.Name + " "
	if p.Name == "main" {
		want = "Command " + p.ImportPath[strings.LastIndex(p.ImportPath, "/")+1:] + " "
	}
	if !strings.HasPrefix(p.Doc+" ", want) {
		return fmt.Sprintf("package doc starts %q, want %q", firstWords(p.Doc), want+"...")
	}
	return ""
}

func TestDocProblem(t *testing.T) {
	files := []string{"x.go"}
	tests := []struct {
		p    listedPackage
		want string // substring; "" = no problem
	}{
		{listedPackage{"m/outbox", "outbox", "Package outbox stores messages.", files}, ""},
		{listedPackage{"m/cmd/tool", "main", "Command tool does things.", files}, ""},
		{listedPackage{"m/onlytests", "onlytests", "", nil}, ""},
		{listedPackage{"m/outbox", "outbox", "", files}, "no package doc comment"},
		{listedPackage{"m/outbox", "outbox", "Outbox stores messages.", files}, `want "Package outbox ..."`},
		{listedPackage{"m/outbox", "outbox", "Package outboxes store.", files}, `want "Package outbox ..."`},
		{listedPackage{"m/cmd/tool", "main", "Package main is a tool.", files}, `want "Command tool ..."`},
	}
	for _, tc := range tests {
		got := docProblem(tc.p)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("docProblem(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Doc,GoFiles", "./...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderrOf(err))
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list ./... listed no packages")
	}
	return pkgs
}

func firstWords(s string) string {
	if f := strings.Fields(s); len(f) > 3 {
		return strings.Join(f[:3], " ")
	}
	return s
}
