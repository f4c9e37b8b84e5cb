package recovery

import (
	"time"

	"github.com/meshhealth/meshhealth/internal/fielderr"
)

// Config configures recovery. The yaml, flag and usage tags make a field a
// setting of the node's configuration; a field tagged "-" is not one.
type Config struct {
	// Budget is how long a node whose own fault fails a critical check
	// tries to repair itself before it exits 3. 30 s: longer than a
	// switch's reboot or a cable swap, the outages a node cannot tell from
	// its own death and outlives by waiting, and short enough that a
	// supervisor still restarts a node that is truly broken within a
	// minute. 0 exits at once, as before recovery existed.
	Budget time.Duration `yaml:"recovery_budget" flag:"recovery-budget" usage:"how long a node cut off by its own fault tries to repair itself (redial, mDNS, DHT) before a confirmed critical failure makes it exit 3; 0 exits at once"`
	// StepTimeout bounds one step; a dial to a peer gone answers within
	// it or not at all.
	StepTimeout time.Duration `yaml:"-" flag:"-"`
	// VerifyTimeout bounds the wait for the failing checks' re-run after
	// a step; a check that has not answered by then counts as still
	// failing.
	VerifyTimeout time.Duration `yaml:"-" flag:"-"`
	// RoundPause is the pause after the last step before the first one
	// again: on a network that is down every step fails at once, and the
	// steps would otherwise spin.
	RoundPause time.Duration `yaml:"-" flag:"-"`
	// History is how many past recoveries /health keeps.
	History int `yaml:"-" flag:"-"`
}

// DefaultConfig is a 30 s budget, steps of at most 5 s, re-runs awaited
// 5 s, a 1 s pause between rounds, the last 10 recoveries kept.
func DefaultConfig() Config {
	return Config{Budget: 30 * time.Second, StepTimeout: 5 * time.Second, VerifyTimeout: 5 * time.Second,
		RoundPause: time.Second, History: 10}
}

// Validate judges the settings as an operator wrote them.
func (c Config) Validate() error {
	var errs fielderr.List
	if c.Budget < 0 {
		errs.Add("Budget", "must be >= 0, got %v", c.Budget)
	}
	return errs.Err()
}

// withDefaults fills the zero fields a Go literal leaves (not Budget: 0
// means no recovery).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.StepTimeout <= 0 {
		c.StepTimeout = d.StepTimeout
	}
	if c.VerifyTimeout <= 0 {
		c.VerifyTimeout = d.VerifyTimeout
	}
	if c.RoundPause <= 0 {
		c.RoundPause = d.RoundPause
	}
	if c.History <= 0 {
		c.History = d.History
	}
	return c
}
