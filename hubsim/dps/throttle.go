package dps

import (
	"sync"
	"time"
)

// bucket is a token bucket over injected time.
type bucket struct {
	rate  float64 // tokens per second; 0 = unlimited
	burst float64

	mu     sync.Mutex
	tokens float64   // guarded by mu
	last   time.Time // guarded by mu
}

func newBucket(t Throttle) *bucket {
	return &bucket{rate: t.PerSecond, burst: float64(t.Burst), tokens: float64(t.Burst)}
}

// admit takes a token at now, reporting false when none is left.
func (b *bucket) admit(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
