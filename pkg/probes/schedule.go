package probes

import (
	"time"

	"github.com/meshhealth/meshhealth/internal/fielderr"
)

// Schedule is how often one check runs and how long a run may take. In
// its flags' usage, {name} is the check's name (its key under probes).
type Schedule struct {
	Enabled  bool          `yaml:"enabled" flag:"enabled" usage:"run the {name} check"`
	Interval time.Duration `yaml:"interval" flag:"interval" usage:"{name} check interval"`
	Timeout  time.Duration `yaml:"timeout" flag:"timeout" usage:"{name} check timeout (the adaptive timeout's ceiling for network probes)"`
}

// Validate reports a schedule that cannot run, one fielderr.Error each.
func (s Schedule) Validate() error {
	var errs fielderr.List
	if s.Interval <= 0 {
		errs.Add("Interval", "must be > 0, got %v", s.Interval)
	}
	if s.Timeout <= 0 {
		errs.Add("Timeout", "must be > 0, got %v", s.Timeout)
	} else if s.Interval > 0 && s.Timeout > s.Interval {
		// A run still going when the next is due would overlap it.
		errs.Add("Timeout", "%v exceeds the interval %v", s.Timeout, s.Interval)
	}
	return errs.Err()
}

// Schedules holds every check's schedule. The tags make them settings of
// the node: each one's flags are --probe-<name>-enabled, -interval and
// -timeout.
type Schedules struct {
	PubSub       Schedule `yaml:"pubsub" flag:"probe-pubsub"`
	DHT          Schedule `yaml:"dht" flag:"probe-dht"`
	Election     Schedule `yaml:"election" flag:"probe-election"`
	Connectivity Schedule `yaml:"connectivity" flag:"probe-connectivity"`
	Resources    Schedule `yaml:"resources" flag:"probe-resources"`
}

// DefaultSchedules are a LAN node's (docs/ARCHITECTURE.md, "Defaults and
// why"): a partitioned node noticed in seconds, while a loaded machine,
// whose slow answers stretch the adaptive timeouts, raises no false alarm.
// They are also what NewPubSubRoundTrip and NewDHTIntegrity fill a zero
// interval or timeout with.
func DefaultSchedules() Schedules {
	return Schedules{
		// A round trip every 5 s at any mesh size (a direct one to a
		// neighbour, costing it one message): a node's own failure is
		// confirmed within about 5 s + three quick runs, its recovery seen
		// at the next run. 3 s is the ceiling the adaptive timeout may
		// stretch to on a loaded machine.
		PubSub: Schedule{Enabled: true, Interval: 5 * time.Second, Timeout: 3 * time.Second},
		// A DHT put and read-back costs six requests: every 30 s, up to
		// 10 s for the slowest peer asked.
		DHT: Schedule{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second},
		// Local reads, cheap: often, so a lost leader shows within seconds.
		Election:     Schedule{Enabled: true, Interval: 5 * time.Second, Timeout: time.Second},
		Connectivity: Schedule{Enabled: true, Interval: 5 * time.Second, Timeout: time.Second},
		// Reading /proc and statfs: a leak grows over minutes, not seconds.
		Resources: Schedule{Enabled: true, Interval: 15 * time.Second, Timeout: 2 * time.Second},
	}
}

// Validate reports every schedule's problems, keyed by the schedule's
// field ("PubSub.Timeout").
func (s Schedules) Validate() error {
	var errs fielderr.List
	errs.Nest("PubSub", s.PubSub.Validate())
	errs.Nest("DHT", s.DHT.Validate())
	errs.Nest("Election", s.Election.Validate())
	errs.Nest("Connectivity", s.Connectivity.Validate())
	errs.Nest("Resources", s.Resources.Validate())
	return errs.Err()
}

// withDefaults fills a zero interval or timeout from def.
func (s Schedule) withDefaults(def Schedule) Schedule {
	if s.Interval <= 0 {
		s.Interval = def.Interval
	}
	if s.Timeout <= 0 {
		s.Timeout = def.Timeout
	}
	return s
}
