package watch

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// Events a fault is judged on.
const (
	EventNonHealthy = "non_healthy"
	EventCheck      = "check"
	EventFailover   = "failover"
)

// Spec says what a fault should cause.
type Spec struct {
	// Target is the index of the faulted node.
	Target int
	// Watch lists the events to time (EventNonHealthy, EventCheck,
	// EventFailover).
	Watch []string
	// Checks are the checks whose failure counts as detection (any of
	// them); empty means any check.
	Checks []string
	// ChecksAnywhere lets the check fail on any node, not only the target:
	// a silent leader is noticed by its followers.
	ChecksAnywhere bool
	// OldLeader and OldTerm are the leader before the fault; a failover
	// needs a different leader with a higher term.
	OldLeader string
	OldTerm   uint64
	// Before is every node just before the fault. Nodes that were not
	// healthy then are left out of the collateral count, and a check that
	// was already failing on a node does not count as detection there.
	Before []testnet.NodeStatus
}

// Outcome is what a detector saw; nil durations were not seen.
type Outcome struct {
	NonHealthy       *time.Duration
	NonHealthyStatus string
	// NonHealthyMessage is the target's status message at that moment:
	// what it blamed.
	NonHealthyMessage string
	Check             *time.Duration
	CheckName         string
	// CheckMessage is the status message of the node where the check
	// failed, at that moment.
	CheckMessage string
	Failover     *time.Duration
	// OthersNonHealthy names the nodes other than the target that
	// reported a status other than healthy.
	OthersNonHealthy []string
}

// Detector times one fault's events from a series of observations.
type Detector struct {
	spec   Spec
	start  time.Time
	out    Outcome
	others map[string]bool
}

// NewDetector starts timing at start, the moment the fault was applied.
func NewDetector(spec Spec, start time.Time) *Detector {
	return &Detector{spec: spec, start: start, others: map[string]bool{}}
}

func (d *Detector) watches(ev string) bool { return slices.Contains(d.spec.Watch, ev) }

// Observe feeds one observation of every node taken at at.
func (d *Detector) Observe(at time.Time, nodes []testnet.NodeStatus) {
	since := at.Sub(d.start)
	for i, s := range nodes {
		if i != d.spec.Target && d.healthyBefore(i) && SelfReportedNonHealthy(s) {
			d.others[s.Name] = true
		}
	}
	if d.spec.Target < 0 || d.spec.Target >= len(nodes) {
		return
	}
	t := nodes[d.spec.Target]
	if d.watches(EventNonHealthy) && d.out.NonHealthy == nil && SelfReportedNonHealthy(t) {
		d.out.NonHealthy, d.out.NonHealthyStatus, d.out.NonHealthyMessage = &since, t.Status, t.Message
	}
	if d.watches(EventCheck) && d.out.Check == nil {
		if name, msg, ok := d.failingCheck(nodes); ok {
			d.out.Check, d.out.CheckName, d.out.CheckMessage = &since, name, msg
		}
	}
	if d.watches(EventFailover) && d.out.Failover == nil && d.failedOver(nodes) {
		d.out.Failover = &since
	}
}

func (d *Detector) failingCheck(nodes []testnet.NodeStatus) (name, message string, ok bool) {
	look := []int{d.spec.Target}
	if d.spec.ChecksAnywhere {
		look = look[:0]
		for i := range nodes {
			look = append(look, i)
		}
	}
	for _, i := range look {
		for _, c := range nodes[i].Failing {
			if d.failingBefore(i, c) {
				continue
			}
			if len(d.spec.Checks) == 0 || slices.Contains(d.spec.Checks, c) {
				return fmt.Sprintf("%s on %s", c, nodes[i].Name), nodes[i].Message, true
			}
		}
	}
	return "", "", false
}

func (d *Detector) healthyBefore(i int) bool {
	return d.spec.Before == nil || (i < len(d.spec.Before) && d.spec.Before[i].Status == StatusHealthy)
}

func (d *Detector) failingBefore(i int, check string) bool {
	return i < len(d.spec.Before) && slices.Contains(d.spec.Before[i].Failing, check)
}

// failedOver: every node but the target is reachable and follows the same
// new leader, one of them, with a higher term than before.
func (d *Detector) failedOver(nodes []testnet.NodeStatus) bool {
	leader := ""
	members := map[string]bool{}
	for i, s := range nodes {
		if i == d.spec.Target {
			continue
		}
		if s.Status == testnet.StatusUnreachable || s.Status == testnet.StatusExited || s.Leader == "" {
			return false
		}
		if leader != "" && s.Leader != leader {
			return false
		}
		if d.spec.OldTerm > 0 && s.Term <= d.spec.OldTerm {
			return false
		}
		leader = s.Leader
		members[s.PeerID] = true
	}
	return leader != "" && leader != d.spec.OldLeader && members[leader]
}

// Done reports whether every watched event has been seen.
func (d *Detector) Done() bool {
	return (!d.watches(EventNonHealthy) || d.out.NonHealthy != nil) &&
		(!d.watches(EventCheck) || d.out.Check != nil) &&
		(!d.watches(EventFailover) || d.out.Failover != nil)
}

// Outcome is what was seen so far.
func (d *Detector) Outcome() Outcome {
	o := d.out
	for name := range d.others {
		o.OthersNonHealthy = append(o.OthersNonHealthy, name)
	}
	slices.Sort(o.OthersNonHealthy)
	return o
}
