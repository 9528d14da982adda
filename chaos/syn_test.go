package chaos

import (
	"testing"
	"time"
)

func TestDialAcrossAHealCompletesAtTheNextSYNRetransmission(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		healAfter time.Duration
		want      time.Duration
	}{
		{0, 0},
		{500 * time.Millisecond, 500 * time.Millisecond}, // next SYN at +1 s
		{time.Second, 0},                     // exactly at a retransmission
		{2 * time.Second, time.Second},       // SYNs at 1 s, 3 s
		{4 * time.Second, 3 * time.Second},   // 7 s
		{20 * time.Second, 11 * time.Second}, // 31 s
		{-time.Second, 0},                    // clock went backwards: no wait
	}
	for _, tc := range tests {
		if got := synRetransmitDelay(t0, t0.Add(tc.healAfter)); got != tc.want {
			t.Errorf("heal after %v: delay %v, want %v", tc.healAfter, got, tc.want)
		}
	}
}
