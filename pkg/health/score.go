package health

import (
	"math"
	"slices"
	"time"
)

// scoreEpsilon absorbs float rounding at thresholds: a weighted mean that
// should be 0.75 must not count as "below 0.75" because it came out as
// 0.7499999999999999.
const scoreEpsilon = 1e-9

// scoreSample is what a check's score needs from one result.
type scoreSample struct {
	OK      bool
	Latency time.Duration
}

// checkScore is success_rate x latency_factor over the samples given (the
// caller passes the last window results). No samples score 0: nothing proves
// the check works.
//
// A young check with fewer than window results has the missing ones counted
// as successes. Without that, the one or two failures every node sees while
// its first peers connect would weigh a third or a half of the rate, and
// since the window takes window x interval to refill (100 s for a 5 s check)
// a freshly started node would sit "degraded" for minutes. Padded, an early
// failure costs what it costs in a full window: 1/window.
func checkScore(samples []scoreSample, slo time.Duration, window int) float64 {
	if len(samples) == 0 {
		return 0
	}
	pad := max(0, window-len(samples))
	var lat [64]time.Duration // no allocation for the default window of 20
	ok := lat[:0]
	for _, s := range samples {
		if s.OK {
			ok = append(ok, s.Latency)
		}
	}
	rate := float64(len(ok)+pad) / float64(len(samples)+pad)
	if len(ok) == 0 {
		return rate
	}
	return rate * latencyFactor(median(ok), slo)
}

// latencyFactor is 1 while the median success latency is within the SLO and
// falls linearly to 0.5 at 4 x SLO: a slow check still works, so slowness
// alone can cost at most half its score.
func latencyFactor(median, slo time.Duration) float64 {
	if slo <= 0 || median <= slo {
		return 1
	}
	return max(0.5, 1-float64(median-slo)/float64(6*slo))
}

// median sorts d in place and returns its median (the mean of the two middle
// values for an even count).
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

// componentScores is the mean of each component's check scores; components
// with a weight but no scored check get 1.0 (nothing there to fail).
func componentScores(checks []evalCheck, weights map[string]float64) map[string]float64 {
	sums := make(map[string]float64, len(weights)+2)
	counts := make(map[string]int, len(weights)+2)
	for _, c := range checks {
		if c.Missing {
			continue // no result yet: neither good nor bad
		}
		sums[c.Component] += c.Score
		counts[c.Component]++
	}
	out := make(map[string]float64, len(weights)+len(sums))
	for comp := range weights {
		out[comp] = 1
	}
	for comp, s := range sums {
		out[comp] = s / float64(counts[comp])
	}
	return out
}

// systemScore is the weighted mean of the component scores over the
// components with a weight above 0.
func systemScore(components, weights map[string]float64) float64 {
	var sum, wsum float64
	for comp, w := range weights {
		if w <= 0 {
			continue
		}
		s, ok := components[comp]
		if !ok {
			s = 1
		}
		sum += w * s
		wsum += w
	}
	if wsum == 0 {
		return 1
	}
	return sum / wsum
}

// effectiveWeights is configured plus a weight for each component of comps
// that has none: together they share equally what the configured weights
// leave below 1, and when they leave nothing (the defaults sum to 1) each
// weighs as much as the mean configured component, so an operator's check
// moves the score without a weight of its own: one custom component
// beside the five built-in ones then makes a sixth of it. A weight of
// its own overrides either. The result is a new map.
func effectiveWeights(configured map[string]float64, comps []string) map[string]float64 {
	out := make(map[string]float64, len(configured)+len(comps))
	sum := 0.0
	for comp, w := range configured {
		out[comp] = w
		if w > 0 && !math.IsInf(w, 0) {
			sum += w
		}
	}
	var extra []string
	for _, comp := range comps {
		if _, ok := out[comp]; !ok {
			out[comp] = 0
			extra = append(extra, comp)
		}
	}
	if len(extra) == 0 {
		return out
	}
	share := 0.0
	if left := 1 - sum; left > scoreEpsilon {
		share = left / float64(len(extra))
	} else if n := countPositive(configured); n > 0 {
		share = sum / float64(n)
	}
	for _, comp := range extra {
		out[comp] = share
	}
	return out
}

// countPositive counts the weights that weigh (positive and finite).
func countPositive(ws map[string]float64) int {
	n := 0
	for _, w := range ws {
		if w > 0 && !math.IsInf(w, 0) {
			n++
		}
	}
	return n
}
