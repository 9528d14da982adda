// Package leakcheck fails a test binary whose goroutines outlive its
// tests, or one test whose goroutines outlive it (STYLE.md guideline 4:
// every goroutine has an owner that stops it). Standard library only; for
// tests, never for production code.
//
//	func TestMain(m *testing.M) { leakcheck.Main(m, 10*time.Second, nil) }
//	func TestX(t *testing.T) { leakcheck.Check(t, 5*time.Second); ... }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignored are stacks of the runtime's and the test framework's own
// goroutines, never leaks.
var ignored = []string{
	"runtime.runCleanups", "runtime.runfinq", "os/signal.", "testing.(*M).", "testing.tRunner",
}

// Main runs the tests and then, if they passed, waits up to wait for the
// goroutines they started to end; if some remain it prints their stacks
// and exits 1. count selects the stacks that count as leaks (nil: every
// goroutine but the runtime's and the test framework's).
func Main(m *testing.M, wait time.Duration, count func(stack string) bool) {
	code := m.Run()
	if code == 0 {
		if leaked := Leaked(wait, count); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutines outlived the tests:\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked polls until no counted goroutine is left or wait has passed, and
// returns the stacks of those still running.
func Leaked(wait time.Duration, count func(stack string) bool) []string {
	deadline := time.Now().Add(wait)
	for {
		leaked := running(count)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func running(count func(string) bool) []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")[1:] { // [0] is this goroutine
		if isIgnored(g) || (count != nil && !count(g)) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func isIgnored(stack string) bool {
	for _, s := range ignored {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// Check fails t if, once t's cleanups have run, more goroutines run than
// when Check was called; it waits up to wait for them to end and then
// prints every stack. Call it first in a test, so that its cleanup runs
// after the test's others (cleanups run last in, first out).
func Check(t testing.TB, wait time.Duration) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutine leak: %d running, %d when the test started\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
