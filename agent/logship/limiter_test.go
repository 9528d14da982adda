package logship

import (
	"testing"
	"time"
)

// TestBucketKeepsTheRate: a caller that waits as told sends at most
// rate*t + burst bytes in any t.
func TestBucketKeepsTheRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		rate  int64
		takes []int
		want  []time.Duration // wait returned by each take, all at t0
	}{
		{"no cap", 0, []int{1 << 20, 1 << 20}, []time.Duration{0, 0}},
		{"burst then debt", 64 << 10, []int{8 << 10, 8 << 10, 64 << 10}, []time.Duration{0, 125 * time.Millisecond, 1125 * time.Millisecond}},
		{"small rate, 4 KiB floor on burst", 1000, []int{4096, 1000}, []time.Duration{0, time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bucket
			b.setRate(tc.rate, t0)
			for i, n := range tc.takes {
				if got := b.take(n, t0); got != tc.want[i] {
					t.Errorf("take %d (%d bytes) = %v, want %v", i, n, got, tc.want[i])
				}
			}
		})
	}
	var b bucket
	b.setRate(64<<10, t0)
	b.take(8<<10, t0) // the 8 KiB burst: empty
	if got := b.take(8<<10, t0.Add(500*time.Millisecond)); got != 0 {
		t.Errorf("after refilling half a second: wait %v, want 0", got)
	}
}
