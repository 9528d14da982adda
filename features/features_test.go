package features

import (
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestFeatures runs every scenario of the feature files as a subtest.
func TestFeatures(t *testing.T) {
	leakcheck.Check(t, 5*time.Second) // the scenarios' goroutines end with them
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
}
