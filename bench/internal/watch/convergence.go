package watch

import (
	"slices"

	"github.com/meshhealth/meshhealth/testnet"
)

// Statuses the node reports about itself. The testnet adds unreachable and
// exited; those say nothing about what the node thinks of its own health.
const (
	StatusHealthy  = "healthy"
	StatusDegraded = "degraded"
)

// SelfReportedNonHealthy is true when the node itself answered with a
// status other than healthy (starting, degraded, unhealthy, stopping).
func SelfReportedNonHealthy(s testnet.NodeStatus) bool {
	switch s.Status {
	case StatusHealthy, "", testnet.StatusUnreachable, testnet.StatusExited:
		return false
	}
	return true
}

// Level says how much Converged asks of each node.
type Level int

const (
	// Ready: healthy or degraded, as /health/ready.
	Ready Level = iota
	// Healthy: every node healthy, the state a fault must start from so
	// that leaving healthy is the fault's doing.
	Healthy
)

// Converged reports whether the nodes whose index is not in except all
// meet the level and name the same leader, one of them. It returns that
// leader's peer ID.
func Converged(nodes []testnet.NodeStatus, level Level, except ...int) (leader string, ok bool) {
	skip := map[int]bool{}
	for _, i := range except {
		skip[i] = true
	}
	ids := map[string]bool{}
	n := 0
	for i, s := range nodes {
		if skip[i] {
			continue
		}
		n++
		switch {
		case level == Healthy && s.Status != StatusHealthy:
			return "", false
		case level == Ready && !s.Ready():
			return "", false
		}
		if s.Leader == "" || (leader != "" && s.Leader != leader) {
			return "", false
		}
		leader = s.Leader
		ids[s.PeerID] = true
	}
	if n == 0 || !ids[leader] {
		return "", false
	}
	return leader, true
}

// IndexOf is the index of the node with peer ID id, or -1.
func IndexOf(nodes []testnet.NodeStatus, id string) int {
	for i, s := range nodes {
		if id != "" && s.PeerID == id {
			return i
		}
	}
	return -1
}

// Leaderless reports whether every node outside except meets the level
// and none names a leader: what a build without the election looks like.
func Leaderless(nodes []testnet.NodeStatus, level Level, except ...int) bool {
	n := 0
	for i, s := range nodes {
		if slices.Contains(except, i) {
			continue
		}
		n++
		if s.Leader != "" || (level == Healthy && s.Status != StatusHealthy) || (level == Ready && !s.Ready()) {
			return false
		}
	}
	return n > 0
}
