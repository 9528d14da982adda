package update_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	agentdevice "github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// *guard.Gate is what the update subsystem takes.
var _ update.Gate = (*guard.Gate)(nil)

// *outbox.Store is where the agent keeps update records.
var _ update.Records = (*outbox.Store)(nil)

// newGate returns a gate on clk that has observed state once.
func newGate(clk *testclock.Clock, state agentdevice.CaseState, windows ...guard.Window) *guard.Gate {
	g := guard.NewGate(guard.New(guard.Config{Lease: guard.MaxLease, Windows: windows}), clk.Now, testclock.NeverFires)
	g.Observe(state)
	return g
}

// passQuiet advances clk past the default quiet period a minute at a
// time, observing idle after each step as the agent's device poll does.
func passQuiet(clk *testclock.Clock, g *guard.Gate) {
	for range int(guard.DefaultQuietPeriod/time.Minute) + 1 {
		clk.Advance(time.Minute)
		g.Observe(agentdevice.CaseIdle)
	}
}

// idleGate is a gate whose device has been idle past the quiet period.
func idleGate(clk *testclock.Clock, windows ...guard.Window) *guard.Gate {
	g := newGate(clk, agentdevice.CaseIdle, windows...)
	passQuiet(clk, g)
	return g
}

// openRecords opens the agent's durable store file at path, as the agent
// does; the returned function closes it (a restart reopens the file).
func openRecords(t testing.TB, path string) (*outbox.Store, func()) {
	t.Helper()
	st, db, err := outbox.OpenFile(path, "agent", outbox.Limits{}, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	var once sync.Once
	closeFn := func() {
		once.Do(func() {
			st.Close()
			db.Close()
		})
	}
	t.Cleanup(closeFn)
	return st, closeFn
}

func storePath(t testing.TB) string { return filepath.Join(t.TempDir(), "agent.db") }

// eventually polls cond until it returns nil or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v: %v", what, d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// throughout checks cond repeatedly for d; it must hold all along.
func throughout(t testing.TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := cond(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// notices records guard deferrals the update code reports.
type notices struct {
	mu  sync.Mutex
	got []string // "action: reason", or "action: go"
}

func (n *notices) note(a guard.Action, d *guard.Decision) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d == nil {
		n.got = append(n.got, a.String()+": go")
		return
	}
	n.got = append(n.got, a.String()+": "+d.Reason)
}

func (n *notices) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.got...)
}
