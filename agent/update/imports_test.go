package update_test

import (
	"os/exec"
	"strings"
	"testing"
)

const updatetestPath = "github.com/cloudpillar/cloudpillar/agent/update/updatetest"

// TestNoAgentCodeImportsUpdatetest: the signing helpers stay out of the
// agent; only tests (whose imports go list does not report here) and the
// harness may use them.
func TestNoAgentCodeImportsUpdatetest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}",
		"github.com/cloudpillar/cloudpillar/agent/...", "github.com/cloudpillar/cloudpillar/cmd/cloudpillar-agent").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := false
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == updatetestPath {
			continue
		}
		seen = seen || fields[0] == "github.com/cloudpillar/cloudpillar/agent/update"
		for _, imp := range fields[1:] {
			if imp == updatetestPath {
				t.Errorf("%s imports %s, which is for tests and the harness only", fields[0], updatetestPath)
			}
		}
	}
	if !seen {
		t.Fatalf("go list did not list agent/update; the check would pass vacuously:\n%s", out)
	}
}
