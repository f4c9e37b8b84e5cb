package health

import (
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/internal/fielderr"
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

	// Weights of each component in the system score (relative: the score
	// is their weighted mean). Components not listed (custom ones) share
	// equally what these leave below 1; when that is nothing (the defaults
	// sum to 1) each weighs as much as the mean listed component.
	Weights map[string]float64 `yaml:"weights" flag:"weight-{component}" usage:"weight of the {component} component in the system score"`
	// Components, when set, are the only components Weights may name. A
	// node whose checks all use the known components sets it, so that a
	// misspelt key is refused instead of weighing nothing; nil allows any
	// (a custom check may bring a component and a weight of its own).
	Components []string `yaml:"-" flag:"-"`

	// Debounce is applied to every check registered without thresholds of
	// its own, so one setting debounces all of a node's checks.
	Debounce Debounce `yaml:"-" flag:"-"`

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
	// new one gets 503 with Retry-After.
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
		MaxEventStreams:    DefaultMaxEventStreams,
		// Three failures in a row, about a second apart at RetryInterval:
		// one lost probe is not a fault, and a fault is confirmed in about
		// a second. One success clears it: a passing probe is proof.
		Debounce: Debounce{FailureThreshold: 3, SuccessThreshold: 1},
	}
}

// Validate reports every invalid field, one fielderr.Error and one line
// each: a value that passes here does not fail NewManager or Register.
func (c Config) Validate() error {
	var errs fielderr.List
	if c.RetryInterval <= 0 {
		errs.Add("RetryInterval", "must be > 0, got %v", c.RetryInterval)
	}
	if c.ResumeGrace < 0 {
		errs.Add("ResumeGrace", "must be >= 0, got %v", c.ResumeGrace)
	}
	// 0 is no grace at all: missing results count from the first tick
	// and a confirmed critical failure may stop the node at once. Useful
	// in tests and for a node whose supervisor delays it already; the
	// default is the node's protection.
	if c.StartupGrace < 0 {
		errs.Add("StartupGrace", "must be >= 0 (0: no grace), got %v", c.StartupGrace)
	}
	if c.History < 1 {
		errs.Add("History", "must be >= 1, got %d", c.History)
	}
	if c.Window < 1 {
		errs.Add("Window", "must be >= 1, got %d", c.Window)
	} else if c.History >= 1 && c.Window > c.History {
		errs.Add("Window", "%d must not exceed the history (%d)", c.Window, c.History)
	}
	if c.ScoreHorizon < 0 {
		errs.Add("ScoreHorizon", "must be >= 0, got %v", c.ScoreHorizon)
	}
	unit := func(v float64) bool { return v > 0 && v <= 1 } // false for NaN
	healthyOK, degradedOK := unit(c.HealthyThreshold), unit(c.DegradedThreshold)
	if !healthyOK {
		errs.Add("HealthyThreshold", "%v must be in (0, 1]", c.HealthyThreshold)
	}
	if !degradedOK {
		errs.Add("DegradedThreshold", "%v must be in (0, 1]", c.DegradedThreshold)
	} else if healthyOK && c.DegradedThreshold > c.HealthyThreshold {
		errs.Add("DegradedThreshold", "%v must not exceed healthy-threshold (%v)", c.DegradedThreshold, c.HealthyThreshold)
	}
	if !(c.Hysteresis >= 0 && c.Hysteresis < 1) {
		errs.Add("Hysteresis", "must be in [0, 1), got %v", c.Hysteresis)
	} else if healthyOK && c.HealthyThreshold+c.Hysteresis > 1+scoreEpsilon {
		// A node that fell below the threshold must climb the hysteresis
		// above it to be healthy again: above 1-h it never could.
		errs.Add("HealthyThreshold", "%v leaves no room for the %v hysteresis above it: at most %v",
			c.HealthyThreshold, c.Hysteresis, 1-c.Hysteresis)
	}
	sum := 0.0
	for _, comp := range slices.Sorted(maps.Keys(c.Weights)) {
		w := c.Weights[comp]
		switch {
		case c.Components != nil && !slices.Contains(c.Components, comp):
			// A misspelt component would otherwise weigh nothing, and the
			// real one would keep its default behind the operator's back.
			errs.Add("Weights", "unknown component %q (known: %s)", comp, strings.Join(c.Components, ", "))
		case math.IsNaN(w) || math.IsInf(w, 0):
			errs.AddKey("Weights", comp, "%v is not a finite number", w)
		case w < 0:
			errs.AddKey("Weights", comp, "%v is negative", w)
		default:
			sum += w
		}
	}
	if sum <= 0 {
		errs.Add("Weights", "must sum to more than 0")
	}
	if !(c.Jitter >= 0 && c.Jitter < 1) {
		errs.Add("Jitter", "must be in [0, 1), got %v", c.Jitter)
	}
	if c.TickPeriod <= 0 {
		errs.Add("TickPeriod", "must be > 0, got %v", c.TickPeriod)
	}
	if c.MaxEventStreams < 1 {
		errs.Add("MaxEventStreams", "must be >= 1, got %d", c.MaxEventStreams)
	}
	errs.Nest("Debounce", c.Debounce.Validate())
	return errs.Err()
}

// Debounce is how many consecutive results change a check's state: one
// failed sample is noise, three in a row a fault. The manager applies its
// Config.Debounce to every check registered without thresholds of its own.
//
// Its tags make it a setting of the node (node.Config holds it as a
// section of its own, keys at the file's top level).
type Debounce struct {
	FailureThreshold int `yaml:"failure_threshold" flag:"failure-threshold" usage:"consecutive failures before a check is failing"`
	SuccessThreshold int `yaml:"success_threshold" flag:"success-threshold" usage:"consecutive successes before a failing check passes again"`
}

// Validate reports each threshold below 1, one fielderr.Error each.
func (d Debounce) Validate() error {
	var errs fielderr.List
	if d.FailureThreshold < 1 {
		errs.Add("FailureThreshold", "must be >= 1, got %d", d.FailureThreshold)
	}
	if d.SuccessThreshold < 1 {
		errs.Add("SuccessThreshold", "must be >= 1, got %d", d.SuccessThreshold)
	}
	return errs.Err()
}
