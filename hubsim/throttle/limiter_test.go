package throttle

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func newLimiter(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return l
}

// step is one call in a script: Admit(at(when), class, cost) must give
// wait, or an error matching want.
type step struct {
	when  time.Duration
	class Class
	cost  int
	wait  time.Duration
	want  error
}

func run(t *testing.T, l *Limiter, steps []step) {
	t.Helper()
	for i, s := range steps {
		wait, err := l.Admit(at(s.when), s.class, s.cost)
		if wait != s.wait || !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("step %d: Admit(t0+%v, %v, %d) = %v, %v; want %v, %v", i, s.when, s.class, s.cost, wait, err, s.wait, s.want)
		}
	}
}

// TestD2CIsShapedThenRefused: a burst is admitted at once, the excess
// queues at the limit rate (each waits longer) until the queue bound, and
// beyond it sends are refused with 429 and take nothing, so the queue
// drains at the rate ("Traffic shaping", iot-hub-devguide-quotas-throttling.md).
func TestD2CIsShapedThenRefused(t *testing.T) {
	l := newLimiter(t, Config{Tier: S1, Rates: map[Class]float64{D2C: 8}, ShapingDelay: 250 * time.Millisecond})
	var steps []step
	for range 8 {
		steps = append(steps, step{0, D2C, 1, 0, nil}) // the burst: one second at 8/s
	}
	steps = append(steps,
		step{0, D2C, 1, 125 * time.Millisecond, nil},
		step{0, D2C, 1, 250 * time.Millisecond, nil},
		step{0, D2C, 1, 0, ErrThrottled}, // would wait 375 ms > 250 ms
		step{125 * time.Millisecond, D2C, 1, 250 * time.Millisecond, nil},
		step{125 * time.Millisecond, D2C, 1, 0, ErrThrottled},
		step{500 * time.Millisecond, D2C, 1, 0, nil}, // the queue is paid; one token earned
		step{500 * time.Millisecond, D2C, 1, 125 * time.Millisecond, nil},
		step{500 * time.Millisecond, Connect, 1, 0, nil}, // classes have their own buckets
	)
	run(t, l, steps)
	st := l.Stats()
	if st.Shaped[D2C] != 4 || st.Throttled[D2C] != 2 || len(st.Throttled) != 1 || len(st.Shaped) != 1 {
		t.Fatalf("stats = %+v, want 4 shaped and 2 throttled D2C sends only", st)
	}
}

// TestOtherClassesAreRefusedAtOnce: twin updates on S1 (50/s) are not
// shaped: the 51st in the same instant gets 429 429001 ThrottlingException,
// and 20 ms later one token has been earned.
func TestOtherClassesAreRefusedAtOnce(t *testing.T) {
	l := newLimiter(t, Config{Tier: S1})
	for i := range 50 {
		if _, err := l.Admit(t0, TwinUpdates, 1); err != nil {
			t.Fatalf("update %d: %v", i+1, err)
		}
	}
	_, err := l.Admit(t0, TwinUpdates, 1)
	var e *Error
	if !errors.As(err, &e) || e.Status != 429 || e.Code != 429001 || e.Name != "ThrottlingException" {
		t.Fatalf("51st update: %v, want 429 429001 ThrottlingException", err)
	}
	if !strings.Contains(string(e.Body()), `"errorCode":429001`) {
		t.Errorf("MQTT body %s lacks errorCode", e.Body())
	}
	run(t, l, []step{
		{20 * time.Millisecond, TwinUpdates, 1, 0, nil},
		{20 * time.Millisecond, TwinUpdates, 1, 0, ErrThrottled},
		{20 * time.Millisecond, TwinReads, 1, 0, nil},
	})
}

// TestSlowClassesAdmitOneAtATime: classes under one per second (S1
// registry 1.67/s, queries 20/min) still admit one operation from a full
// bucket, then refuse until a whole token is earned.
func TestSlowClassesAdmitOneAtATime(t *testing.T) {
	l := newLimiter(t, Config{Tier: S1})
	run(t, l, []step{
		{0, Queries, 1, 0, nil},
		{time.Second, Queries, 1, 0, ErrThrottled},
		{3 * time.Second, Queries, 1, 0, nil}, // 20/min: one every 3 s
		{0, Registry, 1, 0, nil},
		{0, Registry, 1, 0, ErrThrottled}, // 1.67 in the bucket after the first: 0.67
		{250 * time.Millisecond, Registry, 1, 0, nil},
	})
}

// TestMethodsAreMeteredIn4KB: a direct method costs its payload's 4 KB
// meters; S1's 160 KB/s is 40 meters.
func TestMethodsAreMeteredIn4KB(t *testing.T) {
	l := newLimiter(t, Config{Tier: S1})
	run(t, l, []step{
		{0, Methods, 32, 0, nil}, // a 128 KB payload
		{0, Methods, 9, 0, ErrThrottled},
		{0, Methods, 8, 0, nil},
		{0, Methods, 1, 0, ErrThrottled},
		{25 * time.Millisecond, Methods, 1, 0, nil},
	})
}

// TestDailyQuotaResetsAtMidnightUTC: the message that crosses the quota is
// accepted, every operation after it but a connect gets 403 403002 until
// the next UTC day of the hub's clock, whatever the local time zone.
func TestDailyQuotaResetsAtMidnightUTC(t *testing.T) {
	sydney := time.FixedZone("AEDT", 11*3600)
	evening := time.Date(2025, 3, 14, 23, 0, 0, 0, time.UTC).In(sydney) // 10:00 on the 15th in Sydney
	l := newLimiter(t, Config{Tier: S1, DailyQuota: 3})
	l.Charge(evening, 100)
	l.Charge(evening, 100)
	if err := l.CheckQuota(evening); err != nil {
		t.Fatalf("2 of 3 used: %v", err)
	}
	l.Charge(evening, 6*1024) // two messages: 4 of 3
	_, err := l.Admit(evening, D2C, 1)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrQuotaExceeded) || e.Status != 403 || e.Name != "IotHubQuotaExceeded" {
		t.Fatalf("Admit after the quota = %v, want 403 403002 IotHubQuotaExceeded", err)
	}
	if !strings.Contains(e.Message, "Max allowed message count : '3', current message count : '4'") {
		t.Errorf("message %q lacks the counts", e.Message)
	}
	for _, c := range []Class{TwinReads, Registry, Queries, FileUpload} {
		if _, err := l.Admit(evening, c, 1); !errors.Is(err, ErrQuotaExceeded) {
			t.Errorf("%v after the quota: %v, want 403002", c, err)
		}
	}
	if _, err := l.Admit(evening, Connect, 1); err != nil {
		t.Errorf("connect after the quota: %v, want admitted", err)
	}
	beforeMidnight := time.Date(2025, 3, 14, 23, 59, 59, 0, time.UTC)
	if err := l.CheckQuota(beforeMidnight); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("one second before midnight UTC: %v, want 403002", err)
	}
	if st := l.Stats(); st.QuotaExceeded != 6 || st.MessagesToday != 4 || st.DailyQuota != 3 {
		t.Fatalf("stats = %+v, want 6 refusals and 4 of 3 used", st)
	}
	midnight := time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)
	if _, err := l.Admit(midnight, D2C, 1); err != nil {
		t.Fatalf("at midnight UTC: %v, want a fresh quota", err)
	}
	if st := l.Stats(); st.MessagesToday != 0 {
		t.Fatalf("messages today = %d after midnight, want 0", st.MessagesToday)
	}
}

func TestNoQuotaAndFreeTierMetering(t *testing.T) {
	l := newLimiter(t, Config{Tier: S1, DailyQuota: -1})
	for range 5 {
		l.Charge(t0, 256*1024)
	}
	if err := l.CheckQuota(t0); err != nil {
		t.Fatalf("no quota: %v", err)
	}
	f := newLimiter(t, Config{Tier: F1})
	if got := f.Meters(1024); got != 2 {
		t.Fatalf("F1 meters 1 KB as %d messages, want 2 (0.5 KB metering)", got)
	}
	if got := f.Config().DailyQuota; got != 8000 {
		t.Fatalf("F1 quota = %d, want 8000", got)
	}
}

// TestClockGoingBackEarnsNothing: an earlier now neither refills nor
// breaks the bucket.
func TestClockGoingBackEarnsNothing(t *testing.T) {
	l := newLimiter(t, Config{Tier: S1, Rates: map[Class]float64{TwinReads: 1}})
	run(t, l, []step{
		{time.Hour, TwinReads, 1, 0, nil},
		{0, TwinReads, 1, 0, ErrThrottled},
		{time.Hour + time.Second, TwinReads, 1, 0, nil},
	})
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no tier", Config{}, "unknown tier"},
		{"basic tier", Config{Tier: "B1"}, "unknown tier"},
		{"negative units", Config{Tier: S1, Units: -1}, "-1 units"},
		{"free with two units", Config{Tier: F1, Units: 2}, "2 units of F1"},
		{"zero rate", Config{Tier: S1, Rates: map[Class]float64{D2C: 0}}, "positive rate"},
		{"unknown class", Config{Tier: S1, Rates: map[Class]float64{NumClasses: 1}}, "known class"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) = %v, want an error mentioning %q", tc.cfg, err, tc.want)
			}
		})
	}
	l := newLimiter(t, Config{Tier: S2, Units: 3})
	c := l.Config()
	if c.Units != 3 || c.Burst != DefaultBurst || c.ShapingDelay != DefaultShapingDelay || c.DailyQuota != 18_000_000 {
		t.Fatalf("defaults = %+v", c)
	}
	if _, err := l.Admit(t0, NumClasses, 1); err == nil {
		t.Fatal("Admit of an unknown class succeeded")
	}
}

// BenchmarkAdmit is the cost one operation pays when throttling is on.
func BenchmarkAdmit(b *testing.B) {
	l, _ := New(Config{Tier: S3, Units: 10})
	now := t0
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Microsecond)
		l.Admit(now, D2C, 1)
	}
}
