package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/amenzhinsky/iothub/iotservice"

	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
)

func TestHubTierFlags(t *testing.T) {
	tests := []struct {
		args []string
		want *throttle.Config
	}{
		{nil, nil},
		{[]string{"--tier", "S1"}, &throttle.Config{Tier: throttle.S1, Units: 1}},
		{[]string{"--tier", "s3", "--units", "4"}, &throttle.Config{Tier: throttle.S3, Units: 4}},
	}
	for _, tc := range tests {
		f, _, err := parseHubFlags(tc.args, io.Discard)
		if err != nil || (f.throttle == nil) != (tc.want == nil) || (tc.want != nil && (f.throttle.Tier != tc.want.Tier || f.throttle.Units != tc.want.Units)) {
			t.Errorf("parseHubFlags(%q) throttle = %+v, %v; want %+v", tc.args, f.throttle, err, tc.want)
		}
	}
	bad := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--tier", "S4"}, `hub: --tier: unknown IoT Hub tier "S4"`},
		{[]string{"--units", "3"}, "hub: --units needs --tier"},
		{[]string{"--tier", "S2", "--units", "0"}, "hub: --units: must be at least 1, got 0"},
		{[]string{"--tier", "F1", "--units", "2"}, "hub: --units: throttle: 2 units of F1"},
	}
	for _, tc := range bad {
		if _, _, err := parseHubFlags(tc.args, io.Discard); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseHubFlags(%q) = %v, want errUsage containing %q", tc.args, err, tc.wantErr)
		}
	}
}

// TestHubWithTierThrottlesTheRESTAPI: `cloudpillar hub --tier S1` says so
// and enforces S1's registry throttle (1.67/s): back-to-back reads get 429.
func TestHubWithTierThrottlesTheRESTAPI(t *testing.T) {
	info, stdout, _ := startLabHub(t, t.TempDir(), "--tier", "S1", "--register", "dev-1")
	const want = "tier      S1 x 1: 100 D2C sends/s"
	deadline := time.Now().Add(10 * time.Second) // the help follows hub.json
	for !strings.Contains(stdout.String(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("hub stdout does not describe the tier:\n%s", stdout)
	}
	svc := labService(t, info)
	var throttled bool
	for range 10 { // one read takes far less than S1's 600 ms per read
		_, err := svc.GetDevice(t.Context(), "dev-1")
		var re *iotservice.RequestError
		if errors.As(err, &re) && re.Code == 429 && strings.Contains(string(re.Body), "429001") {
			throttled = true
			break
		}
		if err != nil {
			t.Fatalf("GetDevice: %v", err)
		}
	}
	if !throttled {
		t.Fatal("10 back-to-back registry reads on S1 (1.67/s) were all admitted")
	}
}
