package features

import (
	"testing"

	"github.com/cloudpillar/cloudpillar/internal/agenttest"
)

// TestPowerLossChild is the device of the power-loss scenario: run in a
// child process by steps_powerloss.go, it streams telemetry from a durable
// store and prints how many messages it has accepted, until it is killed.
func TestPowerLossChild(t *testing.T) {
	if !agenttest.ServeChild() {
		t.Skip("the child process of the power-loss scenario")
	}
}
