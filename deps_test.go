package cloudpillar

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// modulePath is this repository's module path (go.mod).
const modulePath = "github.com/cloudpillar/cloudpillar"

// harnessPaths are the repository folders the shipped agent must never
// depend on (DESIGN.md §2): a package matches when its path inside the
// module is the folder or lies under it.
var harnessPaths = []string{
	"hubsim", "devsim", "chaos", "scenarios", "features", "reports", "cloud", "cmd/cloudpillar",
	"internal/testpki", "internal/agenttest", "internal/leakcheck", "internal/nodewire", "internal/testclock",
}

// harnessModules are third-party modules that serve only the harness
// (DESIGN.md §7); the agent must not link them either.
var harnessModules = []string{
	"github.com/mochi-mqtt/server",
	"github.com/cucumber/godog",
	"github.com/vbauerster/mpb",
	"github.com/stretchr/testify",
	"gonum.org/v1/plot",
}

// agentPlatforms are the targets the agent ships for.
var agentPlatforms = []struct{ goos, goarch string }{
	{"linux", "amd64"},
	{"windows", "amd64"},
	{"linux", "arm64"},
}

// TestAgentImportsNoHarness fails when the shipped agent binary or any
// agent package depends, on any target platform, on a harness package
// (DESIGN.md §2 import direction; STYLE.md guideline 14).
func TestAgentImportsNoHarness(t *testing.T) {
	for _, target := range []string{"./cmd/cloudpillar-agent", "./agent/..."} {
		for _, p := range agentPlatforms {
			t.Run(strings.Trim(target, "./")+"/"+p.goos+"_"+p.goarch, func(t *testing.T) {
				t.Parallel()
				deps := goListDeps(t, target, p.goos, p.goarch)
				for _, pkg := range deps {
					if why := forbidden(pkg); why != "" {
						t.Errorf("%s (GOOS=%s GOARCH=%s) depends on %s: %s", target, p.goos, p.goarch, pkg, why)
					}
				}
			})
		}
	}
}

// TestDepCheckSeesHarness keeps the check above from passing vacuously:
// the harness CLI links hubsim, and the check must say so.
func TestDepCheckSeesHarness(t *testing.T) {
	for _, pkg := range goListDeps(t, "./cmd/cloudpillar", "linux", "amd64") {
		if forbidden(pkg) != "" {
			return
		}
	}
	t.Fatal("go list -deps ./cmd/cloudpillar shows no harness package; the dependency check cannot see imports")
}

func goListDeps(t *testing.T, target, goos, goarch string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", target)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s (GOOS=%s GOARCH=%s): %v\n%s", target, goos, goarch, err, stderrOf(err))
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatalf("go list -deps %s listed nothing", target)
	}
	return deps
}

// forbidden says why pkg may not be in the agent's graph, or "".
func forbidden(pkg string) string {
	if rel, ok := strings.CutPrefix(pkg, modulePath+"/"); ok {
		for _, h := range harnessPaths {
			if rel == h || strings.HasPrefix(rel, h+"/") {
				return "harness package " + h + "/"
			}
		}
		return ""
	}
	for _, m := range harnessModules {
		if pkg == m || strings.HasPrefix(pkg, m+"/") {
			return "harness-only module " + m
		}
	}
	return ""
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func TestForbidden(t *testing.T) {
	tests := []struct {
		pkg  string
		want bool
	}{
		{modulePath + "/agent", false},
		{modulePath + "/agent/hub", false},
		{modulePath + "/cmd/cloudpillar-agent", false},
		{modulePath + "/hubsim", true},
		{modulePath + "/hubsim/registry", true},
		{modulePath + "/cloud/azure", true},
		{modulePath + "/cloudy", false},
		{modulePath + "/internal/testpki", true},
		{modulePath + "/cmd/cloudpillar", true},
		{"github.com/mochi-mqtt/server/v2", true},
		{"github.com/amenzhinsky/iothub/iotdevice", false},
		{"crypto/tls", false},
	}
	for _, tc := range tests {
		if got := forbidden(tc.pkg) != ""; got != tc.want {
			t.Errorf("forbidden(%q) = %v, want %v", tc.pkg, got, tc.want)
		}
	}
}
