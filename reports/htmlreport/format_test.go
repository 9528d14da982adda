package htmlreport

import (
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {12000, "12,000"},
		{1234567, "1,234,567"}, {-1234, "-1,234"},
	}
	for _, tc := range tests {
		if got := count(tc.in); got != tc.want {
			t.Errorf("count(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {60, "60"}, {1.75, "1.75"}, {31.4, "31.4"}, {1.0 / 3, "0.33"},
		{-0.001, "0"}, {2.999, "3"},
	}
	for _, tc := range tests {
		if got := decimal(tc.in); got != tc.want {
			t.Errorf("decimal(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
		{96 << 20, "96 MiB"}, {3 << 30, "3 GiB"}, {1 << 62, "4 EiB"},
	}
	for _, tc := range tests {
		if got := byteSize(tc.in); got != tc.want {
			t.Errorf("byteSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestOffset(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "+0s"}, {12500 * time.Millisecond, "+12.5s"}, {90 * time.Second, "+1m30s"},
		{-2 * time.Second, "-2s"}, {1500 * time.Microsecond, "+2ms"},
	}
	for _, tc := range tests {
		if got := offset(tc.in); got != tc.want {
			t.Errorf("offset(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
