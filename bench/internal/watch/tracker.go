package watch

import (
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// Change is one status or leader change of one node between two
// observations.
type Change struct {
	At       time.Time
	Node     string
	Kind     string // "status" or "leader"
	From, To string
	Message  string
}

// Tracker remembers every node's last status and leader and reports what
// changed: the soak's false alarms.
type Tracker struct {
	last map[string]testnet.NodeStatus
	// Unreachable counts observations in which a node did not answer: on
	// a loaded machine that is the harness's timeout, not the node's
	// verdict, so it is counted apart and not as a status change.
	Unreachable int
}

// NewTracker starts from the observation nodes (taken at convergence).
func NewTracker(nodes []testnet.NodeStatus) *Tracker {
	t := &Tracker{last: map[string]testnet.NodeStatus{}}
	for _, s := range nodes {
		t.last[s.Name] = s
	}
	return t
}

// Observe returns the changes since the previous observation.
func (t *Tracker) Observe(at time.Time, nodes []testnet.NodeStatus) []Change {
	var out []Change
	for _, s := range nodes {
		if s.Status == testnet.StatusUnreachable && s.Process == testnet.ProcRunning {
			t.Unreachable++
			continue // keep the last verdict; see Unreachable
		}
		prev, ok := t.last[s.Name]
		t.last[s.Name] = s
		if !ok {
			continue
		}
		if s.Status != prev.Status {
			out = append(out, Change{At: at, Node: s.Name, Kind: "status", From: prev.Status, To: s.Status, Message: s.Message})
		}
		if s.Leader != prev.Leader {
			out = append(out, Change{At: at, Node: s.Name, Kind: "leader", From: short(prev.Leader), To: short(s.Leader)})
		}
	}
	return out
}

func short(id string) string {
	if id == "" {
		return "none"
	}
	return testnet.ShortID(id)
}
