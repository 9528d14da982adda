package scenarios

import (
	"context"
	"sort"
	"time"
)

func sortActions[T any](acts []T, at func(T) time.Duration) {
	sort.SliceStable(acts, func(i, j int) bool { return at(acts[i]) < at(acts[j]) })
}

// waitUntil waits for the wall-clock instant t; false if ctx ended first.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
