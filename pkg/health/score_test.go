package health

import (
	"math"
	"testing"
	"time"
)

const ms = time.Millisecond

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestLatencyFactor(t *testing.T) {
	tests := []struct {
		median, slo time.Duration
		want        float64
	}{
		{50 * ms, 100 * ms, 1},     // within the SLO
		{100 * ms, 100 * ms, 1},    // at the SLO
		{160 * ms, 100 * ms, 0.9},  // 1 - 60/600
		{400 * ms, 100 * ms, 0.5},  // 1 - 300/600 = 0.5 exactly
		{2000 * ms, 100 * ms, 0.5}, // floor
		{750 * ms, 500 * ms, 1 - 250.0/3000},
	}
	for _, tt := range tests {
		if got := latencyFactor(tt.median, tt.slo); !near(got, tt.want) {
			t.Errorf("latencyFactor(%s, slo %s) = %v, want %v", tt.median, tt.slo, got, tt.want)
		}
	}
}

func samples(okCount, failCount int, okLatency time.Duration) []scoreSample {
	var s []scoreSample
	for range okCount {
		s = append(s, scoreSample{OK: true, Latency: okLatency})
	}
	for range failCount {
		s = append(s, scoreSample{OK: false, Latency: 3 * time.Second})
	}
	return s
}

func TestCheckScoreIsSuccessRateTimesLatencyFactor(t *testing.T) {
	tests := []struct {
		name    string
		samples []scoreSample
		want    float64
	}{
		{"all fast successes", samples(20, 0, 10*ms), 1},
		{"one failure in 20", samples(19, 1, 10*ms), 0.95},
		{"half failed", samples(10, 10, 10*ms), 0.5},
		{"slow successes", samples(20, 0, 160*ms), 0.9},
		{"slow and failing", samples(15, 5, 160*ms), 0.75 * 0.9},
		{"failed latency is ignored", samples(1, 19, 10*ms), 0.05},
		{"no successes in a full window", samples(0, 20, 0), 0},
		{"no results", nil, 0},
		{"young check: early failure weighs 1/window", samples(2, 1, 10*ms), 0.95},
		{"young check: only failures so far", samples(0, 5, 0), 0.75},
		{"young check: slow successes still cost latency", []scoreSample{{true, 100 * ms}, {true, 220 * ms}}, 0.9}, // median 160ms
	}
	for _, tt := range tests {
		if got := checkScore(tt.samples, 100*ms, 20); !near(got, tt.want) {
			t.Errorf("%s: checkScore = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSystemScoreWeighsComponents(t *testing.T) {
	w := DefaultConfig().Weights
	tests := []struct {
		name   string
		checks []evalCheck
		want   float64
	}{
		{"nothing registered", nil, 1},
		{"dht down, rest perfect", []evalCheck{{Name: "d", Component: "dht", Score: 0}}, 0.75},
		{"pubsub half", []evalCheck{{Name: "p", Component: "pubsub", Score: 0.5}}, 1 - 0.30*0.5},
		{"component is the mean of its checks",
			[]evalCheck{{Name: "a", Component: "p2p", Score: 1}, {Name: "b", Component: "p2p", Score: 0.6}}, 1 - 0.25*0.2},
		{"custom component weighs nothing", []evalCheck{{Name: "x", Component: "custom", Score: 0}}, 1},
		{"missing results do not count", []evalCheck{{Name: "d", Component: "dht", Missing: true}}, 1},
		{"all at 0.9", []evalCheck{
			{Name: "a", Component: "pubsub", Score: 0.9}, {Name: "b", Component: "dht", Score: 0.9},
			{Name: "c", Component: "p2p", Score: 0.9}, {Name: "d", Component: "election", Score: 0.9},
			{Name: "e", Component: "resources", Score: 0.9}}, 0.9},
	}
	for _, tt := range tests {
		comps := componentScores(tt.checks, w)
		if got := systemScore(comps, w); !near(got, tt.want) {
			t.Errorf("%s: systemScore = %v, want %v (components %v)", tt.name, got, tt.want, comps)
		}
	}
	comps := componentScores([]evalCheck{{Name: "x", Component: "custom", Score: 0.25}}, w)
	if comps["custom"] != 0.25 || comps["election"] != 1 {
		t.Errorf("components = %v, want custom 0.25 shown and election 1.0 (no checks)", comps)
	}
}

// A recovered check stops costing the score once its failures are older
// than the horizon, however long its interval: a 30 s check's 20-result
// window would otherwise hold a glitch against the node for ten minutes.
func TestScoreForgetsFailuresOlderThanTheHorizon(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := &checkState{hist: newRing(100), def: Check{LatencySLO: 100 * ms}}
	add := func(at time.Duration, ok bool) {
		c.hist.add(&sample{Result: Result{Healthy: ok, Latency: 10 * ms}, at: t0.Add(at)})
	}
	// Three failures, then successes every 30 s.
	add(0, false)
	add(500*ms, false)
	add(time.Second, false)
	for i := 1; i <= 3; i++ {
		add(time.Duration(i)*30*time.Second, true)
	}
	now := t0.Add(90 * time.Second)
	if got, _ := c.windowScore(20, 0, now); !near(got, 0.85) {
		t.Fatalf("without a horizon the three failures cost 3/20: got %v", got)
	}
	if got, _ := c.windowScore(20, time.Minute, now); !near(got, 1) {
		t.Fatalf("failures 89 s old still counted with a 1 min horizon: %v", got)
	}
	if got, _ := c.windowScore(20, 2*time.Minute, now); !near(got, 0.85) {
		t.Fatalf("failures within a 2 min horizon must count: %v", got)
	}
}
