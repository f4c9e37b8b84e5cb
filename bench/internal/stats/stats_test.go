package stats

import (
	"math"
	"testing"
)

func TestSummarizeMedianAndSpread(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		in                     []float64
		n                      int
		median, min, max, mean float64
	}{
		{"odd count takes the middle", []float64{5, 1, 3}, 3, 3, 1, 5, 3},
		{"even count averages the middle pair", []float64{4, 1, 3, 2}, 4, 2.5, 1, 4, 2.5},
		{"one value", []float64{7}, 1, 7, 7, 7, 7},
		{"NaN runs are left out", []float64{math.NaN(), 2, 4}, 2, 3, 2, 4, 3},
		{"nothing measured", []float64{math.NaN()}, 0, 0, 0, 0, 0},
		{"empty", nil, 0, 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.in)
			if s.N != tc.n || s.Median != tc.median || s.Min != tc.min || s.Max != tc.max || s.Mean != tc.mean {
				t.Fatalf("Summarize(%v) = %+v, want n=%d median=%g min=%g max=%g mean=%g",
					tc.in, s, tc.n, tc.median, tc.min, tc.max, tc.mean)
			}
		})
	}
}

func TestSpreadIsRangeOverMedian(t *testing.T) {
	if got := Summarize([]float64{90, 100, 110}).Spread(); math.Abs(got-0.2) > 1e-12 {
		t.Fatalf("spread = %g, want 0.2", got)
	}
	if got := Summarize([]float64{0, 0}).Spread(); got != 0 {
		t.Fatalf("spread of zeros = %g, want 0", got)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	var hundred []float64
	for i := 100; i >= 1; i-- { // unsorted on purpose
		hundred = append(hundred, float64(i))
	}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{50, 50}, {99, 99}, {100, 100}, {0, 1}, {99.9, 100}, {1, 1}} {
		if got := Percentile(hundred, tc.p); got != tc.want {
			t.Errorf("p%g of 1..100 = %g, want %g", tc.p, got, tc.want)
		}
	}
	if got := Percentile([]float64{3}, 99); got != 3 {
		t.Errorf("p99 of one value = %g, want 3", got)
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Errorf("percentile of nothing is not NaN")
	}
}
