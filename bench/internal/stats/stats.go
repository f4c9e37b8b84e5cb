package stats

import (
	"math"
	"slices"
)

// Summary is what a table cell says about repeated measurements.
type Summary struct {
	N      int
	Median float64
	Min    float64
	Max    float64
	Mean   float64
}

// Summarize returns the summary of xs; NaN values (runs that measured
// nothing) are left out and N counts only the others. An empty input gives
// N == 0 and zero values.
func Summarize(xs []float64) Summary {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Summary{}
	}
	slices.Sort(v)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return Summary{N: len(v), Median: median(v), Min: v[0], Max: v[len(v)-1], Mean: sum / float64(len(v))}
}

// Spread is (max - min) / median: the relative width of the repetitions.
// 0 when the median is 0.
func (s Summary) Spread() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / math.Abs(s.Median)
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Percentile is the p-th percentile (0..100) of xs by the nearest-rank
// method: the smallest value with at least p % of the sample at or below
// it, so p99 of 100 values is the 99th smallest. NaN for an empty sample.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	v := slices.Clone(xs)
	slices.Sort(v)
	return PercentileSorted(v, p)
}

// PercentileSorted is Percentile on an already sorted sample, for callers
// that ask for several percentiles of a large one.
func PercentileSorted(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
