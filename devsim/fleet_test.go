package devsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/devsim"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
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

// TestFleetProvisionsThroughDPSWithBootstrapCertificates: devices leave the
// factory with only a bootstrap certificate and reach the hub through DPS.
func TestFleetProvisionsThroughDPSWithBootstrapCertificates(t *testing.T) {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{OperationalKeyType: testpki.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.NewHub(t, hubsim.Config{DPS: &hubsim.DPSConfig{PKI: lab, Options: dps.Config{
		Issuance: dps.IssuancePolicy{KeyTypes: []testpki.KeyType{testpki.ECDSAP256}},
	}}})
	f, err := devsim.New(devsim.Config{Hub: h, Devices: 3, Lab: lab, KeepAlive: 2 * time.Second,
		Backoff: backoff.Policy{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f.Close(ctx)
	})
	hubtest.Eventually(t, 20*time.Second, func() bool { return f.Connected() == 3 }, "provisioned fleet not connected: %d", f.Connected())
	if got := f.Totals().Provisioned; got != 3 {
		t.Fatalf("provisioned %d devices, want 3", got)
	}
}
