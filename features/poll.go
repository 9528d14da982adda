package features

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
)

// pollInterval is how often a condition is re-checked.
const pollInterval = 50 * time.Millisecond

// within checks cond until it returns nil or d has passed; then it returns
// cond's last error. It never sleeps past the deadline.
func within(ctx context.Context, d time.Duration, cond func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("still not true after %v: %w", d, err)
		}
		if err := backoff.Sleep(ctx, min(pollInterval, time.Until(deadline))); err != nil {
			return err
		}
	}
}

// throughout checks cond repeatedly for d and fails at its first error: the
// condition must hold for the whole period.
func throughout(ctx context.Context, d time.Duration, cond func() error) error {
	start := time.Now()
	deadline := start.Add(d)
	for {
		if err := cond(); err != nil {
			return fmt.Errorf("after %v of %v: %w", time.Since(start).Round(time.Millisecond), d, err)
		}
		if !time.Now().Before(deadline) {
			return nil
		}
		if err := backoff.Sleep(ctx, min(pollInterval, time.Until(deadline))); err != nil {
			return err
		}
	}
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
