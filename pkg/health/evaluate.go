package health

import (
	"fmt"
	"strings"
)

// evalCheck is what the status decision needs to know about one enabled
// check.
type evalCheck struct {
	Name      string
	Component string
	Critical  bool
	Failing   bool // effective state failing (debounced, stale, or missing past its grace)
	Missing   bool // no result yet and not yet counted as failing
	Degraded  bool // passing, but its last result says the node is short of full strength
	Score     float64
	// Pace is the check's latency factor alone (1 within its SLO): the
	// part of the score that describes the check now rather than its
	// recent failures.
	Pace   float64
	Reason string // why it is failing, for the status message
}

// evalInput is everything the status decision depends on. It is kept in each
// snapshot so that a request with ?exclude can be decided again without
// touching the manager.
type evalInput struct {
	Checks            []evalCheck // sorted by name
	Weights           map[string]float64
	HealthyThreshold  float64
	DegradedThreshold float64
	Hysteresis        float64
	PrevScoreLevel    Status // healthy, degraded or unhealthy
	Stopping          bool
	StopReason        string
	Started           bool
	InGrace           bool // before StartupGrace has passed since Start
	Suppressed        bool // the shutdown hand-off declined (restart loop)
}

// evalOutput is the decision.
type evalOutput struct {
	Status     Status
	Message    string
	Score      float64
	Components map[string]float64
	ScoreLevel Status // the score's own level, with hysteresis; carried to the next decision
}

// without returns a copy of in without the named checks (?exclude).
func (in evalInput) without(names map[string]bool) evalInput {
	if len(names) == 0 {
		return in
	}
	out := in
	out.Checks = make([]evalCheck, 0, len(in.Checks))
	for _, c := range in.Checks {
		if !names[c.Name] {
			out.Checks = append(out.Checks, c)
		}
	}
	return out
}

// evaluate decides the status. Precedence: stopping > starting > unhealthy >
// degraded > healthy. It is a pure function of its input.
func evaluate(in evalInput) evalOutput {
	out := evalOutput{ScoreLevel: in.PrevScoreLevel}
	if out.ScoreLevel == "" {
		out.ScoreLevel = StatusHealthy
	}
	out.Components = componentScores(in.Checks, in.Weights)
	out.Score = systemScore(out.Components, in.Weights)

	if in.Stopping {
		out.Status, out.Message = StatusStopping, "stopping"
		if in.StopReason != "" {
			out.Message += ": " + in.StopReason
		}
		return out
	}
	if !in.Started {
		out.Status, out.Message = StatusStarting, "starting: health manager not started"
		return out
	}
	if in.InGrace {
		var missing []string
		for _, c := range in.Checks {
			if c.Missing {
				missing = append(missing, c.Name)
			}
		}
		if len(missing) > 0 {
			out.Status = StatusStarting
			out.Message = "starting: waiting for the first result of " + strings.Join(missing, ", ")
			return out
		}
	}

	pace := levelScore(in.Checks, in.Weights)
	out.ScoreLevel = scoreLevel(in.PrevScoreLevel, pace, in)

	var critical, other []string
	for _, c := range in.Checks {
		if c.Degraded && !c.Failing {
			other = append(other, c.Reason)
			continue
		}
		if !c.Failing {
			continue
		}
		if c.Critical {
			critical = append(critical, fmt.Sprintf("critical check %s failing: %s", c.Name, c.Reason))
		} else {
			other = append(other, fmt.Sprintf("check %s failing: %s", c.Name, c.Reason))
		}
	}
	switch {
	case len(critical) > 0 && in.Suppressed:
		out.Status, out.Message = StatusUnhealthy, "shutdown suppressed: restart loop"
	case len(critical) > 0:
		out.Status, out.Message = StatusUnhealthy, strings.Join(critical, "; ")
	case out.ScoreLevel == StatusUnhealthy:
		// Slowness alone never takes a node out of service: a node whose
		// checks pass, slowly, still serves, and on a starved machine every
		// node is slow at once; 503 on all of them would take the mesh out
		// of every load balancer for being busy. Very slow is degraded,
		// said as such.
		out.Status, out.Message = StatusDegraded, scoreMessage(pace, in.DegradedThreshold, in.Hysteresis, "degraded")
	case len(other) > 0:
		out.Status, out.Message = StatusDegraded, strings.Join(other, "; ")
	case out.ScoreLevel == StatusDegraded:
		out.Status, out.Message = StatusDegraded, scoreMessage(pace, in.HealthyThreshold, in.Hysteresis, "healthy")
	default:
		out.Status, out.Message = StatusHealthy, "all checks passing"
	}
	return out
}

// levelScore is the system score the threshold rule judges: the pace
// (latency factor) of the checks not failing. The status says now; the
// scores say how it went lately. A failing check already sets the status
// through the state rule (critical: unhealthy, other: degraded), and a
// check's recent failures stay in its score, history, events and metrics;
// were they fed to the threshold rule, a node whose every check passes
// again would stay degraded until its window forgot them (a minute or
// more after a healed partition). What the threshold rule adds to the
// state rule is slowness: checks that pass, but slowly.
func levelScore(checks []evalCheck, weights map[string]float64) float64 {
	up := make([]evalCheck, 0, len(checks))
	for _, c := range checks {
		if !c.Failing {
			c.Score = c.Pace
			up = append(up, c)
		}
	}
	return systemScore(componentScores(up, weights), weights)
}

// scoreLevel maps the level score to a level. A level entered because the
// score fell below a threshold is left only once the score is back at
// threshold + hysteresis or above.
func scoreLevel(prev Status, score float64, in evalInput) Status {
	below := func(limit float64) bool { return score < limit-scoreEpsilon }
	switch {
	case below(in.DegradedThreshold):
		return StatusUnhealthy
	case prev == StatusUnhealthy && below(in.DegradedThreshold+in.Hysteresis):
		return StatusUnhealthy
	case below(in.HealthyThreshold):
		return StatusDegraded
	case (prev == StatusUnhealthy || prev == StatusDegraded) && below(in.HealthyThreshold+in.Hysteresis):
		return StatusDegraded
	default:
		return StatusHealthy
	}
}

func scoreMessage(score, threshold, hysteresis float64, name string) string {
	if score < threshold-scoreEpsilon {
		return fmt.Sprintf("checks slow: latency score %.3f below %s threshold %.2f", score, name, threshold)
	}
	return fmt.Sprintf("checks slow: latency score %.3f not yet back above %.2f (%s threshold %.2f + hysteresis %.2f)",
		score, threshold+hysteresis, name, threshold, hysteresis)
}
