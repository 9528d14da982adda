package reports

import (
	"math"
	"slices"
)

// Percentile returns the p-th percentile (0 <= p <= 100) of values by the
// nearest-rank method: after sorting ascending, the value at rank
// ceil(p/100 × n), counting from 1, with the rank clamped to [1, n]. The
// result is always one of the values, never an interpolation, so p0 is the
// minimum and p100 the maximum. p below 0 counts as 0 and above 100 as 100;
// NaN values are ignored. It returns 0 when no values remain. values is not
// modified.
func Percentile(values []float64, p float64) float64 {
	return rankOf(sortedNumbers(values), p)
}

// LatencyPercentiles returns the nearest-rank p50, p95 and p99 of latencies
// in milliseconds (see Percentile).
func LatencyPercentiles(ms []float64) Percentiles {
	sorted := sortedNumbers(ms)
	return Percentiles{
		P50: rankOf(sorted, 50),
		P95: rankOf(sorted, 95),
		P99: rankOf(sorted, 99),
	}
}

// sortedNumbers returns a sorted copy of values without NaNs.
func sortedNumbers(values []float64) []float64 {
	sorted := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			sorted = append(sorted, v)
		}
	}
	slices.Sort(sorted)
	return sorted
}

// rankOf returns the nearest-rank p-th percentile of sorted, or 0 if empty.
func rankOf(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if math.IsNaN(p) {
		p = 0
	}
	p = min(max(p, 0), 100)
	// p*n first: exact for whole p, so ceil never sees 95.00000000000001.
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}
