package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Defaults for a zero Policy.
const (
	DefaultBase = time.Second
	DefaultCap  = 60 * time.Second
)

// Policy is the shape of the delays.
type Policy struct {
	Base time.Duration // first ceiling; zero means DefaultBase
	Cap  time.Duration // largest ceiling; zero means DefaultCap
}

// Backoff hands out successive delays for one retry loop.
type Backoff struct {
	p       Policy
	rnd     *rand.Rand
	attempt int
}

// New returns a Backoff drawing jitter from rnd (nil: a randomly seeded
// source).
func New(p Policy, rnd *rand.Rand) *Backoff {
	if p.Base <= 0 {
		p.Base = DefaultBase
	}
	if p.Cap <= 0 {
		p.Cap = DefaultCap
	}
	if p.Cap < p.Base {
		p.Cap = p.Base
	}
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Backoff{p: p, rnd: rnd}
}

// Next returns the delay before the next attempt: uniform in
// [0, min(Cap, Base*2^n)] where n counts the failures since the last Reset
// ("full jitter").
func (b *Backoff) Next() time.Duration {
	ceil := b.Ceiling()
	b.attempt++
	return time.Duration(b.rnd.Int64N(int64(ceil) + 1))
}

// Ceiling is the largest delay the next call to Next can return.
func (b *Backoff) Ceiling() time.Duration {
	ceil := b.p.Base
	for i := 0; i < b.attempt && ceil < b.p.Cap; i++ {
		ceil *= 2
	}
	return min(ceil, b.p.Cap)
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Sleep waits d, or until ctx ends, whichever comes first, and returns
// ctx's error if it ended first (also when d <= 0 and ctx has already
// ended). Every wait of the agent's retry loops goes through it.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
