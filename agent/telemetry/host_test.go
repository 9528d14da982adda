package telemetry

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// TestHostMetricsOnThisMachine reads the real host twice (the second CPU
// reading covers the time since the first) and checks the values are sane.
func TestHostMetricsOnThisMachine(t *testing.T) {
	ctx := context.Background()
	if _, err := HostMetrics(ctx); err != nil {
		t.Fatalf("HostMetrics: %v", err)
	}
	m, err := HostMetrics(ctx)
	if err != nil {
		t.Fatalf("HostMetrics: %v", err)
	}
	t.Logf("host metrics: %v", m)
	for _, name := range []string{MetricHostCPUPct, MetricHostMemUsedPct, MetricHostDiskUsedPct} {
		pct, ok := m[name].(float64)
		if !ok || pct < 0 || pct > 100 {
			t.Errorf("%s = %v (%T), want a float64 in [0, 100]", name, m[name], m[name])
		}
	}
	for _, name := range []string{MetricHostMemAvailable, MetricHostUptimeSeconds} {
		if v, ok := m[name].(uint64); !ok || v == 0 {
			t.Errorf("%s = %v (%T), want a uint64 > 0", name, m[name], m[name])
		}
	}
	for _, name := range []string{MetricHostNetSentBytes, MetricHostNetRecvBytes} {
		if _, ok := m[name].(uint64); !ok {
			t.Errorf("%s = %v (%T), want a uint64", name, m[name], m[name])
		}
	}
	if len(m) != 7 {
		t.Errorf("HostMetrics returned %d metrics, want 7: %v", len(m), m)
	}
}

func TestHostMetricsReturnsWhatItGotWithJoinedErrors(t *testing.T) {
	boom := errors.New("boom")
	sources := []hostSource{
		{"good", func(_ context.Context, m map[string]any) error { m["a"] = 1.0; return nil }},
		{"failing", func(context.Context, map[string]any) error { return boom }},
		{"panicking", func(context.Context, map[string]any) error { panic("no /proc here") }},
		{"later", func(_ context.Context, m map[string]any) error { m["b"] = uint64(2); return nil }},
	}
	m, err := gatherHost(context.Background(), sources)
	if m["a"] != 1.0 || m["b"] != uint64(2) || len(m) != 2 {
		t.Fatalf("metrics = %v, want a and b", m)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the source's error", err)
	}
	for _, want := range []string{"host failing: boom", "host panicking: panic: no /proc here"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	}
}

func TestClampPct(t *testing.T) {
	for in, want := range map[float64]float64{-0.0001: 0, 0: 0, 42.5: 42.5, 100: 100, 100.00001: 100} {
		if got := clampPct(in); got != want {
			t.Errorf("clampPct(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestHostSamplerReadsAtMostOncePerInterval(t *testing.T) {
	clock := testclock.New(time.Unix(1_700_000_000, 0))
	s := NewHostSampler(30*time.Second, clock.Now)
	var mu sync.Mutex
	reads := 0
	s.gather = func(context.Context) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		reads++
		return map[string]any{"reads": reads}, nil
	}
	ctx := context.Background()
	steps := []struct {
		advance   time.Duration
		wantReads int
	}{
		{0, 1}, {10 * time.Second, 1}, {19 * time.Second, 1}, {time.Second, 2}, {29 * time.Second, 2},
		{-time.Hour, 3}, // the clock went back: read again rather than trust the cache
		{time.Second, 3},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		m, err := s.Sample(ctx)
		if err != nil || m["reads"] != st.wantReads {
			t.Fatalf("step %d: Sample = %v, %v; want reading #%d", i, m, err, st.wantReads)
		}
		m["reads"] = -1 // a caller's copy must not reach the cache
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if m, _ := s.Sample(ctx); m["reads"] != 3 {
				t.Errorf("concurrent Sample = %v, want the cached reading #3", m)
			}
		})
	}
	wg.Wait()
}

func TestHostSamplerDoesNotCacheACancelledRead(t *testing.T) {
	s := NewHostSampler(time.Minute, nil)
	reads := 0
	s.gather = func(ctx context.Context) (map[string]any, error) {
		reads++
		return map[string]any{}, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Sample(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sample(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.Sample(context.Background()); err != nil || reads != 2 {
		t.Fatalf("Sample after a cancelled read: err %v, reads %d; want a fresh read", err, reads)
	}
}

func TestHostSamplerCachesPartialFailures(t *testing.T) {
	s := NewHostSampler(time.Minute, nil)
	s.gather = func(context.Context) (map[string]any, error) {
		return map[string]any{"a": 1.0}, errors.New("host disk: unavailable")
	}
	for range 2 {
		m, err := s.Sample(context.Background())
		if m["a"] != 1.0 || err == nil {
			t.Fatalf("Sample = %v, %v; want the partial reading and its error", m, err)
		}
	}
}

func BenchmarkHostMetrics(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if _, err := HostMetrics(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
