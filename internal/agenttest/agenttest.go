// Package agenttest runs the production agent in tests of the harness and
// of the agent itself. It is separate from hubsim/hubtest because the
// agent imports packages (logship, update, ...) whose own tests use
// hubtest: hubtest must not import the agent.
//
// Run runs the agent in the test's process; StartChild and ServeChild run it
// in a child process the test can kill with SIGKILL, to check what survives
// a power loss (child.go).
package agenttest

import (
	"context"
	"sync"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent"
)

// Run builds the production agent from cfg and runs it until stop is
// called or the test ends: stop cancels Run, waits for it to return, then
// closes the agent's store (a Close error fails the test). stop may be
// called more than once.
func Run(t testing.TB, cfg agent.Config) (a *agent.Agent, stop func()) {
	t.Helper()
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if err := a.Close(); err != nil {
				t.Errorf("agent Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}
