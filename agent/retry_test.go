package agent

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/hub"
)

func TestRetryDelayNeverRetriesTightlyAfterThrottlingOrRefusal(t *testing.T) {
	cfg := Config{ThrottleFloor: 10 * time.Second, AuthRetryFloor: 60 * time.Second}
	tests := []struct {
		name     string
		err      error
		min, max time.Duration
	}{
		{"network error", errors.New("connection reset"), 0, time.Second},
		{"throttled", fmt.Errorf("get twin: %w", hub.ErrThrottled), 10 * time.Second, 11 * time.Second},
		{"refused identity", fmt.Errorf("connect: %w", hub.ErrUnauthorized), 60 * time.Second, 61 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 200; i++ {
				bo := backoff.New(backoff.Policy{Base: time.Second, Cap: time.Minute}, rand.New(rand.NewPCG(uint64(i), 1)))
				if d := retryDelay(bo, tc.err, cfg); d < tc.min || d > tc.max {
					t.Fatalf("retryDelay(%v) = %v, want within [%v, %v]", tc.err, d, tc.min, tc.max)
				}
			}
		})
	}
}
