package health

import (
	"strings"
	"testing"
)

// baseInput is a started node past its grace with default thresholds.
func baseInput(checks ...evalCheck) evalInput {
	cfg := DefaultConfig()
	return evalInput{
		Checks: checks, Weights: cfg.Weights, HealthyThreshold: cfg.HealthyThreshold,
		DegradedThreshold: cfg.DegradedThreshold, Hysteresis: cfg.Hysteresis,
		PrevScoreLevel: StatusHealthy, Started: true,
	}
}

func TestStatusPrecedenceAndMessages(t *testing.T) {
	p2pDown := evalCheck{Name: "p2p-connectivity", Component: "p2p", Critical: true, Failing: true,
		Reason: "0 peers < min 1"}
	electionDown := evalCheck{Name: "election-stability", Component: "election", Failing: true, Reason: "no leader"}
	good := func(name, comp string) evalCheck { return evalCheck{Name: name, Component: comp, Score: 1, Pace: 1} }

	tests := []struct {
		name     string
		in       evalInput
		want     Status
		wantMsg  string
		wantCode int
	}{
		{"all passing", baseInput(good("a", "p2p"), good("b", "dht")), StatusHealthy, "all checks passing", 200},
		{"critical failing", baseInput(p2pDown, good("b", "dht")), StatusUnhealthy,
			"critical check p2p-connectivity failing: 0 peers < min 1", 503},
		{"non-critical failing", baseInput(electionDown, good("b", "dht")), StatusDegraded,
			"check election-stability failing: no leader", 200},
		{"critical beats non-critical", baseInput(electionDown, p2pDown), StatusUnhealthy, "critical check p2p-connectivity", 503},
		{"very slow checks are degraded, not out of service", baseInput(evalCheck{Name: "ps", Component: "pubsub", Score: 0.1, Pace: 0.1}), StatusDegraded,
			"latency score 0.730 below degraded threshold 0.75", 200},
		{"slow checks below the healthy threshold", baseInput(evalCheck{Name: "ps", Component: "pubsub", Score: 0.8, Pace: 0.8}), StatusDegraded,
			"latency score 0.940 below healthy threshold 0.95", 200},
		// Status says now: a check that passes again, at its usual pace, is
		// healthy whatever its recent failures did to its score.
		{"recent failures stay in the score, not in the status", baseInput(evalCheck{Name: "ps", Component: "pubsub", Score: 0.4, Pace: 1},
			good("b", "dht")), StatusHealthy, "all checks passing", 200},
		{"stopping beats everything", func() evalInput {
			in := baseInput(p2pDown)
			in.Stopping, in.StopReason = true, "SIGTERM"
			return in
		}(), StatusStopping, "stopping: SIGTERM", 503},
		{"starting while a result is missing", func() evalInput {
			in := baseInput(p2pDown, evalCheck{Name: "dht-integrity", Component: "dht", Missing: true})
			in.InGrace = true
			return in
		}(), StatusStarting, "starting: waiting for the first result of dht-integrity", 503},
		{"in grace with every result in", func() evalInput {
			in := baseInput(good("a", "p2p"))
			in.InGrace = true
			return in
		}(), StatusHealthy, "all checks passing", 200},
		{"after grace a missing result does not hold starting", baseInput(evalCheck{Name: "x", Component: "dht", Missing: true}),
			StatusHealthy, "all checks passing", 200},
		{"suppressed shutdown", func() evalInput {
			in := baseInput(p2pDown)
			in.Suppressed = true
			return in
		}(), StatusUnhealthy, "shutdown suppressed: restart loop", 503},
		{"not started", evalInput{Weights: DefaultConfig().Weights}, StatusStarting, "starting: health manager not started", 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := evaluate(tt.in)
			if out.Status != tt.want || !strings.Contains(out.Message, tt.wantMsg) {
				t.Errorf("evaluate = %s %q, want %s %q", out.Status, out.Message, tt.want, tt.wantMsg)
			}
			if got := statusCode(out.Status); got != tt.wantCode {
				t.Errorf("HTTP status for %s = %d, want %d", out.Status, got, tt.wantCode)
			}
		})
	}
}

// TestScoreHysteresisAtBoundaries walks the system score across the
// thresholds: a status entered because the score fell below a threshold is
// left only at threshold + 0.02.
func TestScoreHysteresisAtBoundaries(t *testing.T) {
	// One check alone in a component of weight 1 makes the system score the
	// check's score.
	in := baseInput()
	in.Weights = map[string]float64{"c": 1}
	steps := []struct {
		score float64
		want  Status
	}{
		{1.00, StatusHealthy},
		{0.95, StatusHealthy},   // at the threshold is not below it
		{0.949, StatusDegraded}, // below: degraded
		{0.96, StatusDegraded},  // above the threshold, inside the band
		{0.969, StatusDegraded},
		{0.97, StatusHealthy},  // threshold + hysteresis: recovered
		{0.96, StatusHealthy},  // healthy again: the band does not apply going down
		{0.74, StatusDegraded}, // very slow: degraded, never out of service for slowness
		{0.76, StatusDegraded}, // inside the degraded band
		{0.77, StatusDegraded}, // left unhealthy; still under the healthy band
		{0.95, StatusDegraded}, // degraded was entered by score, so 0.97 is needed
		{0.9699, StatusDegraded},
		{0.98, StatusHealthy},
	}
	for i, s := range steps {
		in.Checks = []evalCheck{{Name: "x", Component: "c", Score: s.score, Pace: s.score}}
		out := evaluate(in)
		if out.Status != s.want {
			t.Fatalf("step %d: score %.4f after %s: status %s (%q), want %s", i, s.score, in.PrevScoreLevel, out.Status, out.Message, s.want)
		}
		in.PrevScoreLevel = out.ScoreLevel
	}
}

func TestExcludeRemovesCheckFromDecision(t *testing.T) {
	in := baseInput(
		evalCheck{Name: "p2p-connectivity", Component: "p2p", Critical: true, Failing: true, Reason: "0 peers"},
		evalCheck{Name: "dht-integrity", Component: "dht", Score: 1, Pace: 1},
	)
	if got := evaluate(in).Status; got != StatusUnhealthy {
		t.Fatalf("with the failing check: %s, want unhealthy", got)
	}
	out := evaluate(in.without(map[string]bool{"p2p-connectivity": true}))
	if out.Status != StatusHealthy || out.Score != 1 {
		t.Errorf("excluding it: %s score %v, want healthy 1", out.Status, out.Score)
	}
}
