package reports

import (
	"math"
	"slices"
	"testing"
)

func TestPercentileNearestRank(t *testing.T) {
	ten := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i)
	}
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{"empty", nil, 50, 0},
		{"only NaN", []float64{math.NaN()}, 50, 0},
		{"single", []float64{7}, 99, 7},
		{"p0 is min", ten, 0, 1},
		{"p100 is max", ten, 100, 10},
		{"p50 of ten", ten, 50, 5},
		{"p95 of ten rounds up", ten, 95, 10},
		{"p10 of ten exact rank", ten, 10, 1},
		{"p11 of ten next rank", ten, 11, 2},
		{"p95 of hundred", hundred, 95, 95},
		{"p99 of hundred", hundred, 99, 99},
		{"p29 of hundred no float drift", hundred, 29, 29},
		{"below 0 clamps", ten, -5, 1},
		{"above 100 clamps", ten, 150, 10},
		{"NaN values ignored", []float64{math.NaN(), 3, 1, math.NaN(), 2}, 100, 3},
		{"duplicates", []float64{5, 5, 5, 1}, 50, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.values, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.values, tc.p, got, tc.want)
			}
		})
	}
}

func TestPercentileDoesNotModifyInput(t *testing.T) {
	in := []float64{3, 1, 2}
	Percentile(in, 50)
	if want := []float64{3, 1, 2}; !slices.Equal(in, want) {
		t.Errorf("input became %v, want %v", in, want)
	}
}

func TestLatencyPercentiles(t *testing.T) {
	ms := make([]float64, 1000)
	for i := range ms {
		ms[i] = float64(i + 1)
	}
	tests := []struct {
		name string
		ms   []float64
		want Percentiles
	}{
		{"none", nil, Percentiles{}},
		{"one", []float64{12.5}, Percentiles{12.5, 12.5, 12.5}},
		{"thousand", ms, Percentiles{P50: 500, P95: 950, P99: 990}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LatencyPercentiles(tc.ms); got != tc.want {
				t.Errorf("LatencyPercentiles = %+v, want %+v", got, tc.want)
			}
		})
	}
}
