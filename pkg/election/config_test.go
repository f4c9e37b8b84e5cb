package election

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/internal/fielderr"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := fastConfig().Validate(); err != nil {
		t.Fatalf("the test timings are invalid: %v", err)
	}
}

func TestConfigValidateNamesEveryProblem(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no interval", func(c *Config) { c.HeartbeatInterval = 0 }, "heartbeat_interval"},
		{"timeout of two intervals", func(c *Config) { c.HeartbeatTimeout = 2 * c.HeartbeatInterval }, "heartbeat_timeout"},
		{"jitter above 1", func(c *Config) { c.TimeoutJitter = 1.5 }, "timeout_jitter"},
		{"negative jitter", func(c *Config) { c.TimeoutJitter = -0.1 }, "timeout_jitter"},
		{"negative bootstrap", func(c *Config) { c.BootstrapWait = -time.Second }, "bootstrap_wait"},
		{"no window", func(c *Config) { c.ElectionWindow = 0 }, "election_window"},
		{"window as long as the timeout", func(c *Config) { c.ElectionWindow = c.HeartbeatTimeout }, "election_window"},
		{"members forgotten too soon", func(c *Config) { c.MemberTTL = c.HeartbeatTimeout }, "member_ttl"},
		{"no leader change tolerated", func(c *Config) { c.MaxLeaderChanges = 0 }, "max_leader_changes"},
		{"no change window", func(c *Config) { c.ChangeWindow = 0 }, "change_window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.edit(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %q does not name %s", err, c.field)
			}
		})
	}
}

func TestConfigValidateReportsOneLinePerProblem(t *testing.T) {
	cfg := Config{}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("the zero config was accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) < 5 {
		t.Fatalf("%d lines for a config wrong everywhere:\n%v", len(lines), err)
	}
	for _, e := range fielderr.Split(err) {
		var fe *fielderr.Error
		if !errors.As(e, &fe) || fe.Field == "" {
			t.Errorf("%q names no field, so the node cannot name its flag", e)
		}
	}
}
