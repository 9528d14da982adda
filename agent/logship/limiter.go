package logship

import (
	"context"
	"io"
	"sync"
	"time"
)

// bucket is a token bucket of bytes. It is pure: time is an argument.
type bucket struct {
	rate   float64 // bytes per second; 0 = no cap
	burst  float64
	tokens float64
	last   time.Time
}

// burstFor is the bucket depth for rate: an eighth of a second of traffic,
// within 4..64 KiB, so the cap holds over any second.
func burstFor(rate int64) float64 {
	return float64(min(max(rate/8, 4<<10), 64<<10))
}

// setRate changes the rate at now; a new bucket starts full.
func (b *bucket) setRate(rate int64, now time.Time) {
	fresh := b.last.IsZero()
	b.refill(now)
	b.rate, b.burst = float64(max(rate, 0)), burstFor(rate)
	if fresh {
		b.tokens, b.last = b.burst, now
	}
	b.tokens = min(b.tokens, b.burst)
}

func (b *bucket) refill(now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// take spends n bytes at now and returns how long the caller must wait
// before sending them (zero: at once). The debt is kept, so callers that
// wait as told never exceed the rate.
func (b *bucket) take(n int, now time.Time) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	b.refill(now)
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// limiter shares one bucket between requests. It runs on the wall clock:
// bandwidth is physical even when policy time is scaled. Safe for
// concurrent use.
type limiter struct {
	mu sync.Mutex
	b  bucket // guarded by mu
}

func newLimiter(rate int64) *limiter {
	l := &limiter{}
	l.b.setRate(rate, time.Now())
	return l
}

func (l *limiter) setRate(rate int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.setRate(rate, time.Now())
}

// rate is the cap in bytes per second (0: none).
func (l *limiter) rate() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(l.b.rate)
}

// chunk is the most bytes one read should pass.
func (l *limiter) chunk() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.rate <= 0 {
		return 1 << 20
	}
	return int(l.b.burst)
}

// wait blocks until n bytes may go, or ctx ends.
func (l *limiter) wait(ctx context.Context, n int) error {
	l.mu.Lock()
	d := l.b.take(n, time.Now())
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// throttled passes r's bytes at the limiter's pace.
type throttled struct {
	ctx context.Context
	r   io.Reader
	l   *limiter
}

func (t *throttled) Read(p []byte) (int, error) {
	if c := t.l.chunk(); len(p) > c {
		p = p[:c]
	}
	n, err := t.r.Read(p)
	if n > 0 {
		if werr := t.l.wait(t.ctx, n); werr != nil {
			return 0, werr
		}
	}
	return n, err
}
