package election

import (
	"time"

	"github.com/meshhealth/meshhealth/internal/budget"
	"github.com/meshhealth/meshhealth/internal/fielderr"
)

// Config holds the election's timing. Every field has a default
// (DefaultConfig) chosen for a LAN mesh; Validate says which combinations
// cannot work.
//
// The yaml, flag and usage tags make a field a setting of the node's
// configuration (node.Config binds them; the flag also names its
// MESHHEALTH_* variable); a field tagged "-" is not one.
type Config struct {
	// HeartbeatInterval is how often the leader publishes a Heartbeat. One
	// second keeps the topic busy enough to double as the pubsub liveness
	// signal (silence_trigger is 2 s) at one small message per second.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval" json:"heartbeat_interval" flag:"election-heartbeat-interval" usage:"leader heartbeat period"`
	// HeartbeatTimeout is how long a follower waits without a heartbeat
	// before it stands. Three intervals: one lost heartbeat, or two, is
	// not a dead leader.
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout" json:"heartbeat_timeout" flag:"election-heartbeat-timeout" usage:"silence after which a follower stands (randomised up to +50%)"`
	// TimeoutJitter stretches each node's timeout by a random fraction up
	// to this (0.5: 3 s to 4.5 s), so one node usually stands first
	// instead of all of them at once.
	TimeoutJitter float64 `yaml:"-" json:"timeout_jitter" flag:"-"`
	// BootstrapWait is how long a starting node listens for an existing
	// leader before it stands, counted from its first connected peer and
	// randomised like the timeout (a node with no peer at all stands after
	// five of these). Two heartbeat intervals: long enough to hear a live
	// leader, short enough that a new mesh elects quickly.
	BootstrapWait time.Duration `yaml:"bootstrap_wait" json:"bootstrap_wait" flag:"election-bootstrap-wait" usage:"wait for a leader at start before standing"`
	// ElectionWindow is how long a node collects candidates of a term
	// before voting for the best one. It must cover the spread of the
	// candidates' announcements across the mesh; it is also the time a
	// graceful resign costs.
	ElectionWindow time.Duration `yaml:"election_window" json:"election_window" flag:"election-window" usage:"time a voter collects candidates before voting"`
	// MemberTTL is how long a peer heard on the topic counts as a member,
	// the denominator of every majority. Followers re-send their vote every
	// MemberTTL/3, so a live member never lapses; a dead one leaves the
	// quorum after this long.
	MemberTTL time.Duration `yaml:"member_ttl" json:"member_ttl" flag:"election-member-ttl" usage:"a member unheard this long no longer counts toward the majority"`
	// MaxLeaderChanges is how many leadership changes within ChangeWindow
	// the election-stability check tolerates.
	MaxLeaderChanges int `yaml:"max_leader_changes" json:"max_leader_changes" flag:"election-max-leader-changes" usage:"leadership changes in 10 min above which election-stability fails"`
	// ChangeWindow is the window of State.ChangesRecent.
	ChangeWindow time.Duration `yaml:"-" json:"change_window" flag:"-"`
	// EndorseBudget is how many standing endorsements (re-sent votes) per
	// second the whole mesh may publish. A follower re-sends its vote every
	// max(MemberTTL/3, members/EndorseBudget), and a member lapses after
	// three of those, so the election topic's load stays flat as the mesh
	// grows; a member the liveness view holds dead or departed leaves the
	// quorum at once whatever the interval. 0 disables the budget (every
	// MemberTTL/3, as before it existed).
	EndorseBudget float64 `yaml:"-" json:"endorse_budget" flag:"-"`
}

// DefaultConfig returns the LAN defaults (docs/ARCHITECTURE.md, "Defaults and
// why").
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval: time.Second,
		HeartbeatTimeout:  3 * time.Second,
		TimeoutJitter:     0.5,
		BootstrapWait:     2 * time.Second,
		ElectionWindow:    time.Second,
		MemberTTL:         10 * time.Second,
		MaxLeaderChanges:  3,
		ChangeWindow:      10 * time.Minute,
		EndorseBudget:     1,
	}
}

// Validate reports every unusable value, one fielderr.Error and one line
// each.
func (c Config) Validate() error {
	var errs fielderr.List
	if c.HeartbeatInterval <= 0 {
		errs.Add("HeartbeatInterval", "%v must be positive", c.HeartbeatInterval)
	}
	if c.HeartbeatTimeout <= 2*c.HeartbeatInterval {
		errs.Add("HeartbeatTimeout", "%v must exceed 2 x election-heartbeat-interval (%v), or one late heartbeat deposes the leader",
			c.HeartbeatTimeout, c.HeartbeatInterval)
	}
	if !(c.TimeoutJitter >= 0 && c.TimeoutJitter <= 1) {
		errs.Add("TimeoutJitter", "%v must be within [0, 1]", c.TimeoutJitter)
	}
	if c.BootstrapWait < 0 {
		errs.Add("BootstrapWait", "%v must not be negative", c.BootstrapWait)
	}
	if c.ElectionWindow <= 0 {
		errs.Add("ElectionWindow", "%v must be positive", c.ElectionWindow)
	} else if c.ElectionWindow >= c.HeartbeatTimeout {
		errs.Add("ElectionWindow", "%v must be shorter than election-heartbeat-timeout (%v), or a resign fails over no faster than a crash",
			c.ElectionWindow, c.HeartbeatTimeout)
	}
	if c.MemberTTL < 2*c.HeartbeatTimeout {
		errs.Add("MemberTTL", "%v must be at least 2 x election-heartbeat-timeout (%v), or the quorum shrinks under a running election",
			c.MemberTTL, c.HeartbeatTimeout)
	}
	if c.MaxLeaderChanges < 1 {
		errs.Add("MaxLeaderChanges", "%d must be at least 1", c.MaxLeaderChanges)
	}
	if c.ChangeWindow <= 0 {
		errs.Add("ChangeWindow", "%v must be positive", c.ChangeWindow)
	}
	if !(c.EndorseBudget >= 0) { // NaN too
		errs.Add("EndorseBudget", "%v must be a number >= 0", c.EndorseBudget)
	}
	return errs.Err()
}

// endorseInterval is how often a follower re-sends its vote in a mesh of
// members nodes.
func (c Config) endorseInterval(members int) time.Duration {
	return budget.Interval(c.MemberTTL/3, members, c.EndorseBudget)
}

// memberTTL is how long a member lapses after its last message in a mesh of
// members nodes: three endorsement intervals, at least MemberTTL.
func (c Config) memberTTL(members int) time.Duration {
	return max(c.MemberTTL, 3*c.endorseInterval(members))
}
