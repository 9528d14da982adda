package conformance_test

import (
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests (STYLE.md 4): every
// hub, client and timer must be stopped by the test that started it.
func TestMain(m *testing.M) { leakcheck.Main(m, 10*time.Second, nil) }
