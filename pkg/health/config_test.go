package health

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidateReportsEachProblemOnItsOwnLine(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"retry interval", func(c *Config) { c.RetryInterval = 0 }, []string{"retry_interval must be > 0"}},
		{"negative grace", func(c *Config) { c.StartupGrace = -time.Second }, []string{"startup_grace"}},
		{"window above history", func(c *Config) { c.History, c.Window = 10, 20 }, []string{"window (20) must not exceed history (10)"}},
		{"thresholds inverted", func(c *Config) { c.DegradedThreshold, c.HealthyThreshold = 0.9, 0.8 }, []string{"degraded_threshold (0.9) must not exceed healthy_threshold (0.8)"}},
		{"unreachable recovery", func(c *Config) { c.HealthyThreshold = 0.99 }, []string{"healthy_threshold + hysteresis must not exceed 1"}},
		{"negative weight", func(c *Config) { c.Weights = map[string]float64{"dht": -1, "p2p": 1} }, []string{`weight of component "dht" must be >= 0`}},
		{"zero weights", func(c *Config) { c.Weights = map[string]float64{"dht": 0} }, []string{"weights must sum to more than 0"}},
		{"jitter", func(c *Config) { c.Jitter = 1 }, []string{"jitter must be in [0, 1)"}},
		{"several at once", func(c *Config) { c.TickPeriod, c.RetryInterval, c.Window = 0, 0, 0 },
			[]string{"tick_period", "retry_interval", "window must be >= 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Validate() gave %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestNewManagerRefusesInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window = 0
	if _, err := NewManager(cfg, nil, nil, nil); err == nil {
		t.Fatal("NewManager accepted window 0")
	}
}

func TestRegisterAppliesDefaultsAndValidates(t *testing.T) {
	m, _ := newManager(t, testConfig())
	ok := func(context.Context) Result { return Result{Healthy: true} }
	mustRegister(t, m, Check{Name: "plain", Component: "p2p", Checker: ok})
	c := m.core.byName["plain"].def
	if c.Interval != DefaultInterval || c.Timeout != DefaultTimeout || c.FailureThreshold != 3 ||
		c.SuccessThreshold != 1 || c.LatencySLO != 100*time.Millisecond {
		t.Errorf("defaults not applied: %+v", c)
	}

	tests := []struct {
		name  string
		check Check
		want  []string
	}{
		{"duplicate name", Check{Name: "plain", Component: "p2p", Checker: ok}, []string{"already registered"}},
		{"timeout above interval", Check{Name: "slow", Component: "p2p", Interval: time.Second, Timeout: 2 * time.Second, Checker: ok},
			[]string{"timeout (2s) must not exceed interval (1s)"}},
		{"bad thresholds", Check{Name: "th", Component: "p2p", FailureThreshold: -1, SuccessThreshold: -2, Checker: ok},
			[]string{"failure_threshold must be >= 1", "success_threshold must be >= 1"}},
		{"no checker", Check{Name: "nochecker", Component: "p2p"}, []string{"checker must be set"}},
		{"name unusable in a path", Check{Name: "a/b", Component: "p2p", Checker: ok}, []string{`name "a/b"`}},
		{"no component", Check{Name: "nocomp", Checker: ok}, []string{`component ""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Register(tt.check)
			if err == nil {
				t.Fatal("Register accepted an invalid check")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Register() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}
