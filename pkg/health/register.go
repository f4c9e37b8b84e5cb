package health

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied by Register to zero fields of a Check; the thresholds
// come from the manager's Config.Debounce.
const (
	DefaultInterval   = 10 * time.Second
	DefaultTimeout    = 2 * time.Second
	DefaultLatencySLO = 100 * time.Millisecond
)

// withDefaults fills the zero fields of c, its thresholds from d.
func withDefaults(c Check, d Debounce) Check {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = min(DefaultTimeout, c.Interval)
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = d.FailureThreshold
	}
	if c.SuccessThreshold == 0 {
		c.SuccessThreshold = d.SuccessThreshold
	}
	if c.LatencySLO == 0 {
		c.LatencySLO = DefaultLatencySLO
	}
	return c
}

// ValidName reports whether s may name a check or a component: what
// Register accepts.
func ValidName(s string) bool { return validName(s) }

// validName keeps names usable as a URL path segment, a Prometheus label
// value and a "component:check" key without escaping.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '-' || r == '_' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// validateCheck reports every problem of a check that has its defaults.
func validateCheck(c Check) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !validName(c.Name) {
		bad("name %q must be 1-64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit", c.Name)
	}
	if !validName(c.Component) {
		bad("component %q must be 1-64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit", c.Component)
	}
	if c.Checker == nil {
		bad("checker must be set")
	}
	if c.Interval < 0 {
		bad("interval must be > 0, got %s", c.Interval)
	}
	if c.Timeout < 0 {
		bad("timeout must be > 0, got %s", c.Timeout)
	}
	if c.Timeout > c.Interval {
		bad("timeout (%s) must not exceed interval (%s)", c.Timeout, c.Interval)
	}
	if c.FailureThreshold < 1 {
		bad("failure_threshold must be >= 1, got %d", c.FailureThreshold)
	}
	if c.SuccessThreshold < 1 {
		bad("success_threshold must be >= 1, got %d", c.SuccessThreshold)
	}
	if c.LatencySLO < 0 {
		bad("latency_slo must be > 0, got %s", c.LatencySLO)
	}
	return errors.Join(errs...)
}
