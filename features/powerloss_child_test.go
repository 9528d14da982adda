package features

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
)

// TestPowerLossChild is the device of the power-loss scenario: run in a
// child process by steps_powerloss.go, it streams telemetry from a durable
// store and prints how many messages it has accepted, until it is killed.
func TestPowerLossChild(t *testing.T) {
	if os.Getenv(powerLossEnv) == "" {
		t.Skip("the child process of the power-loss scenario")
	}
	cfg, err := powerLossAgentConfig(os.Getenv(powerLossEnv))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	cfg.TelemetryInterval = 5 * time.Millisecond
	a, err := agent.New(cfg)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	go a.Run(context.Background())
	w := bufio.NewWriter(os.Stdout)
	var last int64
	for {
		if n := a.Stats().Accepted; n != last {
			last = n
			fmt.Fprintf(w, "accepted %d\n", n)
			w.Flush()
		}
		time.Sleep(time.Millisecond)
	}
}
