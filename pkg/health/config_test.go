package health

import (
	"context"
	"math"
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
		{"retry interval", func(c *Config) { c.RetryInterval = 0 }, []string{"retry_interval: must be > 0"}},
		{"negative grace", func(c *Config) { c.StartupGrace = -time.Second }, []string{"startup_grace"}},
		{"window above history", func(c *Config) { c.History, c.Window = 10, 20 }, []string{"window: 20 must not exceed the history (10)"}},
		{"thresholds inverted", func(c *Config) { c.DegradedThreshold, c.HealthyThreshold = 0.9, 0.8 }, []string{"degraded_threshold: 0.9 must not exceed healthy-threshold (0.8)"}},
		{"NaN threshold", func(c *Config) { c.DegradedThreshold = math.NaN() }, []string{"degraded_threshold: NaN must be in (0, 1]"}},
		{"healthy threshold out of range, said once", func(c *Config) { c.HealthyThreshold = 1.5 }, []string{"healthy_threshold: 1.5 must be in (0, 1]"}},
		{"unreachable recovery", func(c *Config) { c.HealthyThreshold = 0.99 }, []string{"healthy_threshold: 0.99 leaves no room for the 0.02 hysteresis"}},
		{"negative weight", func(c *Config) { c.Weights = map[string]float64{"dht": -1, "p2p": 1} }, []string{`weights[dht]: -1 is negative`}},
		{"infinite weight", func(c *Config) { c.Weights = map[string]float64{"dht": math.Inf(1), "p2p": 1} }, []string{`weights[dht]: +Inf is not a finite number`}},
		{"zero weights", func(c *Config) { c.Weights = map[string]float64{"dht": 0} }, []string{"weights: must sum to more than 0"}},
		{"unknown component when the components are known", func(c *Config) {
			c.Components = []string{"dht", "p2p"}
			c.Weights = map[string]float64{"dht": 1, "dhtt": 1}
		}, []string{`weights: unknown component "dhtt" (known: dht, p2p)`}},
		{"jitter", func(c *Config) { c.Jitter = 1 }, []string{"jitter: must be in [0, 1)"}},
		{"no event streams", func(c *Config) { c.MaxEventStreams = 0 }, []string{"max_event_streams: must be >= 1"}},
		{"debounce", func(c *Config) { c.Debounce.FailureThreshold = 0 }, []string{"debounce.failure_threshold: must be >= 1, got 0"}},
		{"several at once", func(c *Config) { c.TickPeriod, c.RetryInterval, c.Window = 0, 0, 0 },
			[]string{"tick_period", "retry_interval", "window: must be >= 1"}},
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

// A custom check's component may carry a weight: only a Config that names
// its components refuses others.
func TestWeightsOfCustomComponentsNeedNoList(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Weights["custom"] = 0.5
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// A startup grace of 0 is no grace, not a mistake (the tests here use it).
func TestNoStartupGraceIsValid(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StartupGrace = 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
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

// The debounce is the manager's: every check registered without
// thresholds gets Config.Debounce, and a check with its own keeps them.
func TestRegisterAppliesTheConfiguredDebounce(t *testing.T) {
	cfg := testConfig()
	cfg.Debounce = Debounce{FailureThreshold: 5, SuccessThreshold: 2}
	m, _ := newManager(t, cfg)
	ok := func(context.Context) Result { return Result{Healthy: true} }
	mustRegister(t, m, Check{Name: "plain", Component: "p2p", Checker: ok})
	mustRegister(t, m, Check{Name: "own", Component: "p2p", Checker: ok, FailureThreshold: 1, SuccessThreshold: 4})
	if c := m.core.byName["plain"].def; c.FailureThreshold != 5 || c.SuccessThreshold != 2 {
		t.Errorf("plain check thresholds %d/%d, want the configured 5/2", c.FailureThreshold, c.SuccessThreshold)
	}
	if c := m.core.byName["own"].def; c.FailureThreshold != 1 || c.SuccessThreshold != 4 {
		t.Errorf("a check's own thresholds were replaced: %d/%d", c.FailureThreshold, c.SuccessThreshold)
	}
}
