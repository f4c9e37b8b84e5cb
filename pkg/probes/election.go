package probes

import (
	"context"
	"fmt"
	"time"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// CheckElection is the name of the election stability check.
const CheckElection = "election-stability"

// Defaults of the election check, as the election's own (docs/ARCHITECTURE.md,
// "Defaults and why").
const (
	DefaultHeartbeatTimeout = 3 * time.Second
	DefaultMaxLeaderChanges = 3
)

// ElectionView is the election as the check reads it; *election.Election
// is one. This package may not import pkg/election (docs/ARCHITECTURE.md,
// "The parts"), so it names only what the check reads, and the node hands
// the election over as it is.
type ElectionView interface {
	// Leader is the leader this node follows ("" while none is known), its
	// term (the highest seen while none is), and whether it is this node.
	Leader() (id string, term uint64, self bool)
	// HeartbeatAge is how long this node has gone without a heartbeat of
	// its leader.
	HeartbeatAge() time.Duration
	// HeartbeatJitter is how far the leader's heartbeats stray from their
	// interval.
	HeartbeatJitter() time.Duration
	// LeaderChanges counts the changes of leader since start, and the
	// unplanned ones within the last 10 minutes (the flapping the check
	// judges).
	LeaderChanges() (total uint64, recent int)
	// LeaderSince is when the current leader took office (zero: none).
	LeaderSince() time.Time
}

// Hearing says whether this node has heard the mesh: a message of another
// member on any meshhealth topic accepted after a given time. *Activity is
// one.
type Hearing interface {
	HeardSince(t time.Time) bool
}

// failoverTimeouts is how many heartbeat timeouts after the last
// heartbeat a mesh that is heard may go without a leader before the check
// fails: the slowest randomised follower timeout (1.5), an election window
// (1/3 by default) and one retry held off by a candidacy heard meanwhile
// (1). A killed leader's followers then pass through the failover; on a
// 50-node mesh, failing at once left up to 28 of its healthy members
// degraded for the seconds the election took, on every leader's death.
const failoverTimeouts = 3

// Election builds the election-stability check: not critical (a mesh
// without a leader still carries traffic, so the node is degraded, not
// dead). It passes when a leader is known, its heartbeats arrive within
// heartbeatTimeout and leadership changed at most maxChanges times in the
// last 10 minutes: more means the mesh is flapping. While the node hears
// other members (heard; nil: never), a silent or missing leader is a
// failover under way, which passes for failoverTimeouts heartbeat
// timeouts; a node that hears nobody is cut off and fails at once.
//
// Each run shows the leadership changes (in all, and in 10 minutes) and
// the leader's uptime as key metrics on km (nil: nowhere).
func Election(view ElectionView, heartbeatTimeout time.Duration, maxChanges int, interval, timeout time.Duration, heard Hearing, km KeyMetrics) health.Check {
	if heartbeatTimeout <= 0 {
		heartbeatTimeout = DefaultHeartbeatTimeout
	}
	if maxChanges < 1 {
		maxChanges = DefaultMaxLeaderChanges
	}
	return health.Check{
		Name:        CheckElection,
		Component:   health.ComponentElection,
		Description: "a leader is known, its heartbeats arrive in time and leadership is stable",
		Interval:    interval,
		Timeout:     timeout,
		Checker: func(ctx context.Context) health.Result {
			leader, term, isLeader := view.Leader()
			age := view.HeartbeatAge()
			total, recent := view.LeaderChanges()
			if km != nil {
				km.SetKeyMetric("leadership_changes", total)
				km.SetKeyMetric("leadership_changes_10m", recent)
				if since := view.LeaderSince(); leader != "" && !since.IsZero() {
					km.SetKeyMetric("leader_uptime", time.Since(since).Round(time.Second).String())
				}
			}
			r := health.Result{Details: map[string]any{
				"leader":           leader,
				"term":             term,
				"is_leader":        isLeader,
				"heartbeat_age_ms": age.Milliseconds(),
				"jitter_ms":        view.HeartbeatJitter().Milliseconds(),
				"changes_recent":   recent,
				"changes_total":    total,
			}}
			failover := leader == "" || age > heartbeatTimeout
			if failover && age <= failoverTimeouts*heartbeatTimeout && heard != nil && heard.HeardSince(time.Now().Add(-heartbeatTimeout)) {
				r.Healthy = true
				r.Message = fmt.Sprintf("election under way: last leader heartbeat %s ago, the mesh is heard (failover allowed %s)",
					age.Round(time.Millisecond), failoverTimeouts*heartbeatTimeout)
				if leader != "" {
					r.Message = fmt.Sprintf("leader %s silent for %s, the mesh is heard: failover under way (allowed %s)",
						short(leader), age.Round(time.Millisecond), failoverTimeouts*heartbeatTimeout)
				}
				return r
			}
			switch {
			case leader == "":
				r.Message = "no leader known"
			case age > heartbeatTimeout:
				r.Message = fmt.Sprintf("leader %s silent for %s (timeout %s)", short(leader), age.Round(time.Millisecond), heartbeatTimeout)
			case recent > maxChanges:
				r.Message = fmt.Sprintf("%d leadership changes in the last 10 min (at most %d)", recent, maxChanges)
			default:
				r.Healthy = true
				role := "follower of"
				if isLeader {
					role = "leader"
				}
				r.Message = fmt.Sprintf("%s %s, term %d, heartbeat %s ago", role, short(leader), term, age.Round(time.Millisecond))
			}
			return r
		},
	}
}

// short abbreviates a peer ID for messages, as libp2p's logs do.
func short(id string) string {
	if len(id) <= 12 {
		return id
	}
	return "…" + id[len(id)-8:]
}
