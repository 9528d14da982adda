package throttle

import "time"

// bucket is a token bucket that also hands out reservations: a request
// finding too few tokens may take them on credit (the balance goes
// negative) and wait until the refill covers it, which is traffic shaping —
// requests queue at the limit rate. The queue is bounded by the longest
// wait a request may be given; beyond it the request is refused and takes
// nothing.
type bucket struct {
	rate   float64 // tokens added per second
	burst  float64 // capacity; a full bucket admits this many at once
	tokens float64 // may be negative: reserved ahead of the refill
	last   time.Time
	primed bool // tokens and last are set (the first take fills the bucket)
}

// take admits a request of cost tokens at now. It returns how long the
// request must wait (0: at once) or ok false when that wait would exceed
// maxWait (0: no waiting at all). A cost above the burst is charged as the
// burst, so a large request still gets through a full bucket.
func (b *bucket) take(now time.Time, cost float64, maxWait time.Duration) (wait time.Duration, ok bool) {
	b.refill(now)
	cost = min(cost, b.burst)
	if b.tokens >= cost {
		b.tokens -= cost
		return 0, true
	}
	wait = time.Duration((cost - b.tokens) / b.rate * float64(time.Second))
	if wait > maxWait {
		return 0, false
	}
	b.tokens -= cost
	return wait, true
}

// refill adds the tokens earned since the last call. A clock that went
// back earns nothing.
func (b *bucket) refill(now time.Time) {
	if !b.primed {
		b.tokens, b.last, b.primed = b.burst, now, true
		return
	}
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}
