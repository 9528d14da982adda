package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
)

func TestHubTierSetting(t *testing.T) {
	tests := []struct {
		yaml  string
		tier  throttle.Tier
		units int
	}{
		{"devices: 2\nduration: 10s\n", "", 0},
		{"devices: 2\nduration: 10s\nhub: {tier: S1}\n", throttle.S1, 1},
		{"devices: 2\nduration: 10s\nhub:\n  tier: s3\n  units: 4\n", throttle.S3, 4},
	}
	for _, tc := range tests {
		sc, err := Parse("hub.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.yaml, err)
		}
		got := sc.Hub.Throttle()
		if (got == nil) != (tc.tier == "") || (got != nil && (got.Tier != tc.tier || got.Units != tc.units)) {
			t.Errorf("Parse(%q).Hub.Throttle() = %+v, want tier %q x %d", tc.yaml, got, tc.tier, tc.units)
		}
	}
}

func TestBadHubSettingNamesTheField(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown tier", "hub: {tier: S9}\n", `hub.tier: must be S1, S2 or S3 (or F1), got "S9"`},
		{"units without tier", "hub: {units: 2}\n", "hub.units: needs hub.tier"},
		{"negative units", "hub: {tier: S2, units: -1}\n", "hub.units: -1 units of S2"},
		{"free tier with two units", "hub: {tier: F1, units: 2}\n", "hub.units: 2 units of F1"},
		{"misspelt field", "hub: {teir: S1}\n", "teir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte("devices: 2\nduration: 10s\n"+tc.yaml))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}
