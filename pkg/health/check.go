package health

import (
	"context"
	"time"

	"github.com/meshhealth/meshhealth/pkg/status"
)

// Status is the node's overall health as probes and load balancers see it;
// its values and Serving are pkg/status's, the one vocabulary the wire,
// the election and the testnet share.
type Status = status.Status

const (
	StatusStarting  = status.Starting
	StatusHealthy   = status.Healthy
	StatusDegraded  = status.Degraded
	StatusUnhealthy = status.Unhealthy
	StatusStopping  = status.Stopping
)

// Components every node has (pkg/status). Custom checks may name others;
// without a configured weight they share what the configured weights
// leave below 1, or weigh as the mean configured component when that is
// nothing (effectiveWeights).
const (
	ComponentPubSub    = string(status.PubSub)
	ComponentDHT       = string(status.DHT)
	ComponentP2P       = string(status.P2P)
	ComponentElection  = string(status.Election)
	ComponentResources = string(status.Resources)
)

// State is a check's debounced (effective) state.
type State string

const (
	StateUnknown State = "unknown"
	StatePassing State = "passing"
	StateFailing State = "failing"
)

// Result is one run of a checker.
type Result struct {
	Healthy bool
	// Degraded marks a passing result that leaves the node short of full
	// strength, such as a node whose last peer left on purpose: the check
	// passes (nothing is broken, nothing to confirm or hand off) and the
	// node is degraded while it holds, with Message as the reason.
	Degraded  bool
	Message   string
	Details   map[string]any
	Latency   time.Duration
	Timestamp time.Time
	Err       error
}

// Checker runs one check. It must honour ctx; one that does not is abandoned
// at the check's timeout and its result counts as a failure.
type Checker func(ctx context.Context) Result

// Check describes one health check. Zero values take the defaults noted, so a
// literal with just Name, Component and Checker is a usable check.
type Check struct {
	Name        string
	Component   string
	Description string
	Interval    time.Duration // default 10s
	// Every, when set, is asked for the interval before each scheduling: a
	// probe whose rate the mesh's message budget stretches with the number
	// of members. Its answer is never below Interval; staleness follows it.
	Every    func() time.Duration
	Timeout  time.Duration // default 2s; must not exceed Interval
	Critical bool
	// Disabled rather than Enabled so that the zero value runs: a check
	// someone registers and forgets to enable is a silent hole.
	Disabled         bool
	FailureThreshold int           // consecutive failures before failing; default Config.Debounce's
	SuccessThreshold int           // consecutive successes before passing again; default Config.Debounce's
	LatencySLO       time.Duration // median success latency above this lowers the score; default 100ms
	Checker          Checker
}

// Transition is a change of the node's status or of one check's effective
// state, as logged, streamed on /health/events and delivered to listeners.
type Transition struct {
	Seq   uint64    `json:"seq"` // increases by one per transition; the SSE event id
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"`            // "status" or "check"
	Check string    `json:"check,omitempty"` // for Kind "check"
	From  string    `json:"from"`
	To    string    `json:"to"`
	Cause string    `json:"cause"`
}

// CriticalHandler receives a confirmed critical failure once the node is past
// its startup grace. It returns false when it declined to stop the node (the
// restart-loop guard), in which case the node stays up and says so.
type CriticalHandler interface {
	HandleCritical(reason string) (stopping bool)
}
