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

// ElectionState is what the check reads of the election: a mirror of the
// election's exposed state, so this package does not depend on
// pkg/election (the node maps one onto the other).
type ElectionState struct {
	Leader          string // peer ID; "" while none is known
	Term            uint64
	IsLeader        bool
	HaveLeader      bool
	HeartbeatAge    time.Duration // since the leader's last heartbeat
	HeartbeatJitter time.Duration // spread of heartbeat arrival around the interval
	ChangesTotal    uint64
	ChangesRecent   int // leadership changes in the last 10 minutes
	LeaderSince     time.Time
}

// ElectionView reads the election's current state.
type ElectionView interface {
	State() ElectionState
}

// ElectionViewFunc adapts a function to ElectionView.
type ElectionViewFunc func() ElectionState

// State calls f.
func (f ElectionViewFunc) State() ElectionState { return f() }

// Election builds the election-stability check: not critical (a mesh
// without a leader still carries traffic, so the node is degraded, not
// dead). It passes when a leader is known, its heartbeats arrive within
// heartbeatTimeout and leadership changed at most maxChanges times in the
// last 10 minutes: more means the mesh is flapping.
//
// Each run shows the leadership changes (in all, and in 10 minutes) and
// the leader's uptime as key metrics on km (nil: nowhere).
func Election(view ElectionView, heartbeatTimeout time.Duration, maxChanges int, interval, timeout time.Duration, km KeyMetrics) health.Check {
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
			s := view.State()
			if km != nil {
				km.SetKeyMetric("leadership_changes", s.ChangesTotal)
				km.SetKeyMetric("leadership_changes_10m", s.ChangesRecent)
				if s.HaveLeader && !s.LeaderSince.IsZero() {
					km.SetKeyMetric("leader_uptime", time.Since(s.LeaderSince).Round(time.Second).String())
				}
			}
			r := health.Result{Details: map[string]any{
				"leader":           s.Leader,
				"term":             s.Term,
				"is_leader":        s.IsLeader,
				"heartbeat_age_ms": s.HeartbeatAge.Milliseconds(),
				"jitter_ms":        s.HeartbeatJitter.Milliseconds(),
				"changes_recent":   s.ChangesRecent,
				"changes_total":    s.ChangesTotal,
			}}
			switch {
			case !s.HaveLeader || s.Leader == "":
				r.Message = "no leader known"
			case s.HeartbeatAge > heartbeatTimeout:
				r.Message = fmt.Sprintf("leader %s silent for %s (timeout %s)", short(s.Leader), s.HeartbeatAge.Round(time.Millisecond), heartbeatTimeout)
			case s.ChangesRecent > maxChanges:
				r.Message = fmt.Sprintf("%d leadership changes in the last 10 min (at most %d)", s.ChangesRecent, maxChanges)
			default:
				r.Healthy = true
				role := "follower of"
				if s.IsLeader {
					role = "leader"
				}
				r.Message = fmt.Sprintf("%s %s, term %d, heartbeat %s ago", role, short(s.Leader), s.Term, s.HeartbeatAge.Round(time.Millisecond))
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
