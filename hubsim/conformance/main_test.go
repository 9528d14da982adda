package conformance_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines outlive the tests (STYLE.md 4): every
// hub, client and timer must be stopped by the test that started it.
func TestMain(m *testing.M) {
	base := len(goroutines())
	code := m.Run()
	if code == 0 {
		if leaked := leftover(base, 10*time.Second); leaked != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// goroutines returns the stacks of the goroutines that are not the
// runtime's own helpers (finalizers, cleanups) nor this check.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		switch {
		case strings.Contains(g, "runtime.runCleanups"), strings.Contains(g, "runtime.runfinq"),
			strings.Contains(g, "testing.(*M).Run"), strings.Contains(g, "conformance_test.goroutines"):
			continue
		}
		out = append(out, g)
	}
	return out
}

// leftover polls until no more goroutines run than at start and otherwise
// returns their stacks.
func leftover(base int, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		gs := goroutines()
		if len(gs) <= base {
			return nil
		}
		if time.Now().After(deadline) {
			return gs
		}
		time.Sleep(20 * time.Millisecond)
	}
}
