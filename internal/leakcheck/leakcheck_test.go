package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestLeakedFindsARunningGoroutineAndForgetsItOnceItEnds(t *testing.T) {
	stop, started, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { parkForLeakTest(started, stop); close(done) }()
	<-started
	mine := func(s string) bool { return strings.Contains(s, "parkForLeakTest") }
	if got := Leaked(50*time.Millisecond, mine); len(got) != 1 {
		t.Fatalf("Leaked = %d stacks, want the parked goroutine", len(got))
	}
	close(stop)
	<-done
	if got := Leaked(5*time.Second, mine); len(got) != 0 {
		t.Fatalf("Leaked after it ended = %v", got)
	}
}

func parkForLeakTest(started, stop chan struct{}) {
	close(started)
	<-stop
}
