package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCrossCompiles builds this binary for every other platform it ships
// on, so the Windows service code (service_windows.go) and the platform
// defaults compile wherever the tests run.
func TestCrossCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiling takes a while; skipped with -short")
	}
	for _, p := range []struct{ goos, goarch string }{{"windows", "amd64"}, {"linux", "arm64"}, {"linux", "amd64"}} {
		t.Run(p.goos+"_"+p.goarch, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "cloudpillar-agent"), ".")
			cmd.Env = append(os.Environ(), "GOOS="+p.goos, "GOARCH="+p.goarch, "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=%s GOARCH=%s go build: %v\n%s", p.goos, p.goarch, err, out)
			}
		})
	}
}
