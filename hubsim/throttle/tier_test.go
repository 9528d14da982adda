package throttle

import (
	"math"
	"testing"
)

// TestRateFollowsTheDocumentedTable checks cells of the operation
// throttles table (iot-hub-devguide-quotas-throttling.md), including its
// worked examples: two S1 units give at least 100 sends/s, nine give 108.
func TestRateFollowsTheDocumentedTable(t *testing.T) {
	tests := []struct {
		tier  Tier
		units int
		class Class
		want  float64
	}{
		{S1, 1, D2C, 100},
		{S1, 2, D2C, 100}, // 2*12 = 24, but at least 100
		{S1, 9, D2C, 108}, // 9*12
		{S1, 9, Connect, 108},
		{S2, 1, D2C, 120},
		{S3, 2, D2C, 12000},
		{S1, 1, TwinReads, 100},
		{S1, 4, TwinReads, 100}, // S1 twin throttles do not grow with units
		{S2, 3, TwinReads, 100}, // higher of 100 and 3*10
		{S2, 20, TwinReads, 200},
		{S3, 1, TwinReads, 500},
		{S1, 1, TwinUpdates, 50},
		{S2, 20, TwinUpdates, 100},
		{S3, 2, TwinUpdates, 500},
		{S1, 1, Registry, 100.0 / 60},
		{S3, 1, Registry, 5000.0 / 60},
		{S1, 3, Queries, 60.0 / 60},
		{S3, 1, Queries, 1000.0 / 60},
		{S1, 1, FileUpload, 100.0 / 60},
		{S3, 1, FileUpload, 5000.0 / 60},
		{S1, 1, C2DSend, 100.0 / 60},
		{S2, 1, C2DReceive, 1000.0 / 60},
		{S1, 1, Methods, 40},  // 160 KB/s in 4 KB meters: 40 calls/s/unit
		{S2, 1, Methods, 120}, // 480 KB/s
		{S3, 1, Methods, 6144},
		{F1, 1, D2C, 100},
		{F1, 5, D2C, 100}, // Free has one unit whatever is asked
		{"B9", 1, D2C, 0},
	}
	for _, tc := range tests {
		if got := Rate(tc.tier, tc.units, tc.class); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Rate(%s, %d, %v) = %v, want %v", tc.tier, tc.units, tc.class, got, tc.want)
		}
	}
}

func TestDailyQuotaAndMetering(t *testing.T) {
	quotas := []struct {
		tier  Tier
		units int
		want  int64
	}{
		{F1, 1, 8_000}, {S1, 1, 400_000}, {S1, 3, 1_200_000}, {S2, 2, 12_000_000}, {S3, 1, 300_000_000},
	}
	for _, tc := range quotas {
		if got := DailyQuota(tc.tier, tc.units); got != tc.want {
			t.Errorf("DailyQuota(%s, %d) = %d, want %d", tc.tier, tc.units, got, tc.want)
		}
	}
	// "a 100-byte message is charged as one message, and a 6-KB message
	// is charged as two messages" (iot-hub-devguide-pricing.md).
	meters := []struct {
		size, meter int
		want        int64
	}{
		{100, 4096, 1}, {6 * 1024, 4096, 2}, {4096, 4096, 1}, {4097, 4096, 2}, {0, 4096, 1},
		{256 * 1024, 4096, 64}, {513, 512, 2}, {100, MeterSize(F1), 1}, {1024, MeterSize(F1), 2},
	}
	for _, tc := range meters {
		if got := Meters(tc.size, tc.meter); got != tc.want {
			t.Errorf("Meters(%d, %d) = %d, want %d", tc.size, tc.meter, got, tc.want)
		}
	}
}

func TestParseTier(t *testing.T) {
	for in, want := range map[string]Tier{"S1": S1, "s2": S2, "S3": S3, "f1": F1} {
		if got, err := ParseTier(in); err != nil || got != want {
			t.Errorf("ParseTier(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "S4", "B1", "standard"} {
		if _, err := ParseTier(in); err == nil {
			t.Errorf("ParseTier(%q) succeeded, want an error", in)
		}
	}
}
