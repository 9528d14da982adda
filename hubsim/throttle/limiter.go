package throttle

import (
	"fmt"
	"maps"
	"sync"
	"time"
)

// Defaults for Config fields left zero.
const (
	// DefaultBurst is a bucket's depth in time at its rate: a hub at rest
	// takes one second's worth of operations at once (the documented
	// limits are per second).
	DefaultBurst = time.Second
	// DefaultShapingDelay bounds how long a device-to-cloud send over the
	// rate is held before it is admitted; a send that would wait longer is
	// refused. Below the SDKs' 30 s publish timeouts.
	DefaultShapingDelay = 5 * time.Second
)

// Config is a hub's tier. Only Tier is required.
type Config struct {
	// Tier selects the column of the throttling table and the quota.
	Tier Tier
	// Units is the number of hub units. Zero is 1; F1 has exactly one.
	Units int
	// Burst is each bucket's depth as time at its rate (at least one
	// operation). Zero is DefaultBurst.
	Burst time.Duration
	// ShapingDelay is the longest a device-to-cloud send over the rate
	// waits (traffic shaping); the send is refused beyond it. Zero is
	// DefaultShapingDelay; negative refuses at once. IoT Hub shapes every
	// class; hubsim shapes D2C only and refuses the others at once.
	ShapingDelay time.Duration
	// Rates override the tier's rate of some classes, per second
	// (Methods: 4 KB meters per second); tests use small ones.
	Rates map[Class]float64
	// DailyQuota overrides the tier's daily message quota. Zero is the
	// tier's; negative is no quota.
	DailyQuota int64
}

func (c *Config) validate() error {
	if _, ok := table[c.Tier]; !ok && c.Tier != F1 {
		return fmt.Errorf("throttle: unknown tier %q: want F1, S1, S2 or S3", c.Tier)
	}
	switch {
	case c.Units == 0:
		c.Units = 1
	case c.Units < 0 || (c.Tier == F1 && c.Units != 1):
		return fmt.Errorf("throttle: %d units of %s", c.Units, c.Tier)
	}
	for cl, r := range c.Rates {
		if cl >= NumClasses || !(r > 0) {
			return fmt.Errorf("throttle: rate %v for %v: want a known class and a positive rate", r, cl)
		}
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.ShapingDelay == 0 {
		c.ShapingDelay = DefaultShapingDelay
	}
	if c.DailyQuota == 0 {
		c.DailyQuota = DailyQuota(c.Tier, c.Units)
	}
	return nil
}

// Limiter enforces a Config. Its buckets start full and its quota day is
// the one of the first call.
type Limiter struct {
	cfg   Config
	meter int // bytes per metered message

	mu        sync.Mutex
	buckets   [NumClasses]bucket // guarded by mu
	quota     quota              // guarded by mu
	throttled [NumClasses]int64  // refusals by class; guarded by mu
	shaped    [NumClasses]int64  // admissions after a wait; guarded by mu
	overQuota int64              // refusals for the quota; guarded by mu
}

// New returns a limiter for cfg, or an error naming what is wrong in it.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Rates = maps.Clone(cfg.Rates)
	l := &Limiter{cfg: cfg, meter: MeterSize(cfg.Tier), quota: quota{limit: cfg.DailyQuota}}
	for c := range Class(NumClasses) {
		r := l.Rate(c)
		l.buckets[c] = bucket{rate: r, burst: max(1, r*cfg.Burst.Seconds())}
	}
	return l, nil
}

// Config returns the configuration in force, defaults filled in.
func (l *Limiter) Config() Config {
	c := l.cfg
	c.Rates = maps.Clone(c.Rates)
	return c
}

// Rate is the limit in force for class c, per second.
func (l *Limiter) Rate(c Class) float64 {
	if r, ok := l.cfg.Rates[c]; ok {
		return r
	}
	return Rate(l.cfg.Tier, l.cfg.Units, c)
}

// Admit decides on one operation of class c costing cost (1 for an
// operation; for Methods its 4 KB meters) at now. It returns how long the
// operation must be held first (traffic shaping, D2C only; 0: at once), or
// a *Error: ErrQuotaExceeded once the day's quota is used up (every class
// but Connect: "All requests to IoT Hub fail with the error 403002"),
// ErrThrottled when the class is over its rate.
func (l *Limiter) Admit(now time.Time, c Class, cost int) (time.Duration, error) {
	if c >= NumClasses {
		return 0, fmt.Errorf("throttle: unknown class %v", c)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c != Connect && l.quota.exhausted(now) {
		l.overQuota++
		return 0, quotaExceeded(l.quota.limit, l.quota.used)
	}
	wait, ok := l.buckets[c].take(now, float64(max(cost, 1)), l.maxWait(c))
	if !ok {
		l.throttled[c]++
		return 0, throttled(c, l.buckets[c].rate)
	}
	if wait > 0 {
		l.shaped[c]++
	}
	return wait, nil
}

func (l *Limiter) maxWait(c Class) time.Duration {
	if c != D2C || l.cfg.ShapingDelay < 0 {
		return 0
	}
	return l.cfg.ShapingDelay
}

// CheckQuota refuses with ErrQuotaExceeded once the day's quota is used
// up; for metered operations with no throttle of their own (file upload
// notifications).
func (l *Limiter) CheckQuota(now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.quota.exhausted(now) {
		l.overQuota++
		return quotaExceeded(l.quota.limit, l.quota.used)
	}
	return nil
}

// Charge meters an operation of size bytes against now's daily quota, in
// the tier's chunks (4 KB; 0.5 KB on F1), at least one message.
func (l *Limiter) Charge(now time.Time, size int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.quota.add(now, Meters(size, l.meter))
}

// Meters is how many quota messages an operation of size bytes costs.
func (l *Limiter) Meters(size int) int64 { return Meters(size, l.meter) }

// Stats are a limiter's counters.
type Stats struct {
	Throttled     map[Class]int64 // operations refused with 429, by class
	Shaped        map[Class]int64 // operations admitted after a wait, by class
	QuotaExceeded int64           // operations refused with 403002
	MessagesToday int64           // messages metered on the day of the last operation
	DailyQuota    int64           // the quota in force; negative: none
}

// Stats returns the counters so far (classes with a zero count are left
// out of the maps).
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Throttled: map[Class]int64{}, Shaped: map[Class]int64{},
		QuotaExceeded: l.overQuota, MessagesToday: l.quota.used, DailyQuota: l.quota.limit}
	for c := range Class(NumClasses) {
		if n := l.throttled[c]; n > 0 {
			s.Throttled[c] = n
		}
		if n := l.shaped[c]; n > 0 {
			s.Shaped[c] = n
		}
	}
	return s
}
