package devsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/devsim"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

func TestFleetDevicesConnectAtTheirSitesAndSendTelemetry(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	f, err := devsim.New(devsim.Config{
		Hub:               h,
		Devices:           5,
		Sites:             2,
		Stagger:           300 * time.Millisecond,
		TelemetryInterval: 200 * time.Millisecond,
		KeepAlive:         2 * time.Second,
		Backoff:           backoff.Policy{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond},
		Seed:              9,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	hubtest.Eventually(t, 15*time.Second, func() bool { return h.Registry().ConnectedCount() == 5 && f.Connected() == 5 },
		"fleet not connected: hub sees %d, fleet %d", h.Registry().ConnectedCount(), f.Connected())
	sites := map[string]int{}
	for _, d := range f.Devices() {
		sites[d.Site]++
	}
	if sites[devsim.SiteName(0)] != 3 || sites[devsim.SiteName(1)] != 2 {
		t.Fatalf("devices per site = %v", sites)
	}
	hubtest.Eventually(t, 10*time.Second, func() bool { return f.Totals().Delivered >= 10 }, "fleet delivered %d messages", f.Totals().Delivered)
	if got := h.Events().Stats().Unique; got < 10 {
		t.Fatalf("hub recorded %d messages", got)
	}
}

func TestFleetConfigRejectsMissingHub(t *testing.T) {
	if _, err := devsim.New(devsim.Config{Devices: 1}); err == nil {
		t.Fatal("New without a hub succeeded")
	}
}
