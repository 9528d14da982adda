package backoff

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestCeilingDoublesUpToTheCap(t *testing.T) {
	b := New(Policy{Base: time.Second, Cap: 10 * time.Second}, rand.New(rand.NewPCG(1, 2)))
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if got := b.Ceiling(); got != w*time.Second {
			t.Fatalf("attempt %d: Ceiling() = %v, want %v", i, got, w*time.Second)
		}
		if d := b.Next(); d < 0 || d > w*time.Second {
			t.Fatalf("attempt %d: Next() = %v, outside [0, %v]", i, d, w*time.Second)
		}
	}
	b.Reset()
	if got := b.Ceiling(); got != time.Second {
		t.Fatalf("after Reset: Ceiling() = %v, want 1s", got)
	}
}

func TestFullJitterSpreadsAFleetAcrossTheWindow(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	const n = 10000
	var below, above int
	for i := 0; i < n; i++ {
		b := New(Policy{Base: time.Second, Cap: 8 * time.Second}, rnd)
		b.Next()
		b.Next()
		b.Next()
		d := b.Next() // ceiling 8 s
		if d < 4*time.Second {
			below++
		} else {
			above++
		}
	}
	// Uniform over [0, 8 s]: each half gets about 50 %.
	if below < n*45/100 || above < n*45/100 {
		t.Fatalf("delays not spread: %d below 4 s, %d above", below, above)
	}
}

func TestZeroPolicyUsesDefaults(t *testing.T) {
	b := New(Policy{}, nil)
	if b.Ceiling() != DefaultBase {
		t.Fatalf("Ceiling() = %v, want %v", b.Ceiling(), DefaultBase)
	}
	for i := 0; i < 20; i++ {
		b.Next()
	}
	if b.Ceiling() != DefaultCap {
		t.Fatalf("Ceiling() = %v, want %v", b.Ceiling(), DefaultCap)
	}
}

// TestSleepEndsWithItsContext: Sleep returns nil after d, and the
// context's error at once when the context ends first (or has already
// ended and there is nothing to wait for).
func TestSleepEndsWithItsContext(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep(1ms) = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(1h) on a cancelled context = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Sleep(1h) on a cancelled context took %v", took)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(0) on a cancelled context = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), -time.Second); err != nil {
		t.Fatalf("Sleep(-1s) = %v, want nil", err)
	}
}
