package health

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Config tunes the health manager. DefaultConfig holds the defaults
// docs/ARCHITECTURE.md explains ("Defaults and why"); each field says what
// it trades off.
//
// The yaml, flag and usage tags make a field a setting of the node's
// configuration (node.Config binds them; the flag also names its
// MESHHEALTH_* variable); a field tagged "-" is not one.
type Config struct {
	// NodeID and Version identify the node in every response and in
	// meshhealth_build_info.
	NodeID, Version string `yaml:"-" flag:"-"`

	// RetryInterval is how soon a check runs again after a failed sample,
	// until it passes or is confirmed failing. Short, so a failure is
	// confirmed in about a second instead of FailureThreshold full intervals;
	// not so short that a struggling peer is hammered.
	RetryInterval time.Duration `yaml:"retry_interval" flag:"retry-interval" usage:"re-run delay after a failed check"`

	// StartupGrace is how long the node may report "starting" while checks
	// deliver their first results, and how long a critical failure is not
	// handed to the shutdown manager (a node that has not met its peers yet
	// must not shut itself down).
	StartupGrace time.Duration `yaml:"startup_grace" flag:"startup-grace" usage:"time before missing results count as failures and a critical failure may stop the node"`
	// ResumeGrace is how long after a pause of this process (SIGSTOP, a VM
	// pause, starvation) failures are recorded but not counted, as in the
	// startup grace: long enough for redials and a first round of probes
	// to rebuild what the pause broke. Default 10s.
	ResumeGrace time.Duration `yaml:"-" flag:"-"`

	// History is how many results per check are kept for
	// /health/checks/{name}. Memory grows linearly with it.
	History int `yaml:"-" flag:"-"`

	// Window is how many recent results feed a check's score. A larger window
	// is steadier and slower to reflect a change.
	Window int `yaml:"-" flag:"-"`

	// ScoreHorizon also bounds the window in time: a result older than this
	// no longer counts toward the score. Twenty results span 100 s for a 5 s
	// check but 10 minutes for a 30 s one, and a recovered check must not
	// hold the node below "healthy" for ten minutes after a glitch that is
	// long over; a minute is "recently flaky" for every check alike. 0
	// removes the limit.
	ScoreHorizon time.Duration `yaml:"score_horizon" flag:"score-horizon" usage:"results older than this no longer count toward a check's score (0: only the 20-result window)"`

	// HealthyThreshold and DegradedThreshold split the system score into
	// healthy / degraded / unhealthy.
	HealthyThreshold  float64 `yaml:"healthy_threshold" flag:"healthy-threshold" usage:"system score below which the node is degraded"`
	DegradedThreshold float64 `yaml:"degraded_threshold" flag:"degraded-threshold" usage:"system score below which the node is unhealthy"`

	// Hysteresis is how far above a threshold the score must climb to leave
	// a status entered because the score fell below it, so a score hovering
	// at a boundary cannot flap.
	Hysteresis float64 `yaml:"-" flag:"-"`

	// Weights of each component in the system score. Components not listed
	// (custom ones) weigh 0: they are shown but do not move the score.
	Weights map[string]float64 `yaml:"weights" flag:"weight-{component}" usage:"weight of the {component} component in the system score"`

	// ShutdownOnCritical hands a confirmed critical failure (after
	// StartupGrace) to the CriticalHandler. Off, the node only reports
	// unhealthy.
	ShutdownOnCritical bool `yaml:"shutdown_on_critical" flag:"shutdown-on-critical" usage:"exit with code 3 when a critical check is confirmed failing"`

	// Jitter spreads each check's runs by up to this fraction of its interval
	// either way, so checks of many nodes (and of one node) do not beat in
	// step. 0 runs exactly on the interval (tests).
	Jitter float64 `yaml:"-" flag:"-"`

	// TickPeriod is the scheduler's heartbeat. /health/live answers 503 when
	// the scheduler has not ticked for 3 periods (a deadlock detector), and
	// the watchdog looks for stale results this often.
	TickPeriod time.Duration `yaml:"-" flag:"-"`

	// MaxEventStreams caps concurrent /health/events streams; beyond it a
	// new one gets 503 with Retry-After. 0 means DefaultMaxEventStreams.
	MaxEventStreams int `yaml:"max_event_streams" flag:"max-event-streams" usage:"concurrent event streams (/health/events and /health/mesh/events together) beyond which a new one gets 503 with Retry-After"`
}

// DefaultConfig returns the LAN defaults (docs/ARCHITECTURE.md, "Defaults and
// why"): a failure should be confirmed within a few seconds and never on
// one sample.
func DefaultConfig() Config {
	return Config{
		RetryInterval:     500 * time.Millisecond,
		StartupGrace:      30 * time.Second,
		ResumeGrace:       10 * time.Second,
		History:           100,
		Window:            20,
		HealthyThreshold:  0.95,
		DegradedThreshold: 0.75,
		Hysteresis:        0.02,
		ScoreHorizon:      time.Minute,
		Weights: map[string]float64{
			ComponentPubSub:    0.30,
			ComponentDHT:       0.25,
			ComponentP2P:       0.25,
			ComponentElection:  0.10,
			ComponentResources: 0.10,
		},
		ShutdownOnCritical: true,
		Jitter:             0.1,
		TickPeriod:         250 * time.Millisecond,
	}
}

// Validate reports every invalid field, one clear error each.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.RetryInterval <= 0 {
		bad("retry_interval must be > 0, got %s", c.RetryInterval)
	}
	if c.ResumeGrace < 0 {
		bad("resume_grace must be >= 0, got %s", c.ResumeGrace)
	}
	if c.StartupGrace < 0 {
		bad("startup_grace must be >= 0, got %s", c.StartupGrace)
	}
	if c.History < 1 {
		bad("history must be >= 1, got %d", c.History)
	}
	if c.Window < 1 {
		bad("window must be >= 1, got %d", c.Window)
	}
	if c.ScoreHorizon < 0 {
		bad("score_horizon must be >= 0, got %v", c.ScoreHorizon)
	}
	if c.History >= 1 && c.Window > c.History {
		bad("window (%d) must not exceed history (%d)", c.Window, c.History)
	}
	if c.DegradedThreshold <= 0 || c.DegradedThreshold > 1 {
		bad("degraded_threshold must be in (0, 1], got %g", c.DegradedThreshold)
	}
	if c.HealthyThreshold <= 0 || c.HealthyThreshold > 1 {
		bad("healthy_threshold must be in (0, 1], got %g", c.HealthyThreshold)
	}
	if c.DegradedThreshold > c.HealthyThreshold {
		bad("degraded_threshold (%g) must not exceed healthy_threshold (%g)", c.DegradedThreshold, c.HealthyThreshold)
	}
	if c.Hysteresis < 0 || c.Hysteresis >= 1 {
		bad("hysteresis must be in [0, 1), got %g", c.Hysteresis)
	} else if c.HealthyThreshold+c.Hysteresis > 1+scoreEpsilon {
		// A status entered below the healthy threshold could never be left.
		bad("healthy_threshold + hysteresis must not exceed 1, got %g", c.HealthyThreshold+c.Hysteresis)
	}
	var sum float64
	for _, comp := range slices.Sorted(maps.Keys(c.Weights)) {
		w := c.Weights[comp]
		if !(w >= 0) || math.IsInf(w, 1) { // NaN fails every comparison
			bad("weight of component %q must be >= 0 and finite, got %g", comp, w)
			continue
		}
		sum += w
	}
	if sum <= 0 {
		bad("component weights must sum to more than 0")
	}
	if c.Jitter < 0 || c.Jitter >= 1 {
		bad("jitter must be in [0, 1), got %g", c.Jitter)
	}
	if c.TickPeriod <= 0 {
		bad("tick_period must be > 0, got %s", c.TickPeriod)
	}
	if c.MaxEventStreams < 0 {
		bad("max_event_streams must be >= 0, got %d", c.MaxEventStreams)
	}
	return errors.Join(errs...)
}
