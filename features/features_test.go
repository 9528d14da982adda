package features

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
)

// TestFeatures runs every scenario of the feature files as a subtest.
func TestFeatures(t *testing.T) {
	before := runtime.NumGoroutine()
	suite := godog.TestSuite{
		Name:                "cloudpillar",
		ScenarioInitializer: Suite{}.InitializeScenario,
		Options: &godog.Options{
			Format:   "pretty",
			FS:       Files,
			Paths:    []string{"."},
			TestingT: t,
			Strict:   true,
			NoColors: true, // plain text in CI logs
		},
	}
	if code := suite.Run(); code != 0 {
		t.Fatalf("feature run exited %d", code)
	}
	checkGoroutines(t, before)
}

// checkGoroutines fails if goroutines started by the scenarios outlive
// them (stdlib-only leak check, in the shape of tailscale's ResourceCheck).
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	err := within(t.Context(), 5*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines running, %d before the scenarios", n, before)
		}
		return nil
	})
	if err != nil {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		t.Errorf("goroutine leak: %v\n%s", err, strings.TrimSpace(stacks))
	}
}
