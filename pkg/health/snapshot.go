package health

import (
	"encoding/json"
	"maps"
	"math"
	"time"
)

// Snapshot is the node's health at one moment. It is immutable: the manager
// builds a new one whenever something changes and publishes it atomically,
// so readers never lock or wait.
type Snapshot struct {
	Status     Status               `json:"status"`
	Message    string               `json:"message"`
	Score      float64              `json:"score"`
	Checks     map[string]CheckView `json:"checks"`
	Components map[string]float64   `json:"components"`
	Uptime     time.Duration        `json:"uptime"` // at LastUpdate; /health reports it at request time
	StartTime  time.Time            `json:"start_time"`
	LastUpdate time.Time            `json:"last_update"`
	Version    string               `json:"version"`
	NodeID     string               `json:"node_id"`
	Leader     string               `json:"leader"`
	Term       uint64               `json:"term"`
	// Availability is the share of the last hour and day the node was
	// healthy and each component had no failing check, as of LastUpdate.
	Availability Availability `json:"availability"`

	// For /health/summary.
	LastCheck          time.Time                  `json:"-"`
	TotalChecks        uint64                     `json:"-"` // runs recorded since start
	KeyMetrics         map[string]json.RawMessage `json:"-"`
	Transitions        []Transition               `json:"-"` // oldest first, at most 100
	ShutdownSuppressed bool                       `json:"-"`

	eval       evalInput
	scoreLevel Status
	history    map[string][]*sample
	healthBody []byte // /health without its uptime: `{...,"uptime":`
	readyBody  []byte
}

// CheckView is one check as /health and /health/checks show it: the last
// result's fields plus its effective state.
type CheckView struct {
	Name                 string          `json:"name"`
	Component            string          `json:"component"`
	Description          string          `json:"description,omitempty"`
	Healthy              bool            `json:"healthy"`
	Message              string          `json:"message"`
	Details              json.RawMessage `json:"details"`
	Latency              time.Duration   `json:"latency"`
	Timestamp            time.Time       `json:"timestamp"`
	Error                string          `json:"error"`
	State                State           `json:"state"`
	ConsecutiveFailures  int             `json:"consecutive_failures"`
	ConsecutiveSuccesses int             `json:"consecutive_successes"`
	Score                float64         `json:"score"`
	Critical             bool            `json:"critical"`
	Stale                bool            `json:"stale"`
	LocalStall           bool            `json:"local_stall"`
	Disabled             bool            `json:"disabled,omitempty"`
	// LastSuccess and LastFailure are the times of the check's last
	// passing and last failed result, however old (absent: none yet).
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
}

// ResultView is one entry of a check's history.
type ResultView struct {
	Healthy    bool            `json:"healthy"`
	Message    string          `json:"message"`
	Details    json.RawMessage `json:"details"`
	Latency    time.Duration   `json:"latency"`
	Timestamp  time.Time       `json:"timestamp"`
	Error      string          `json:"error"`
	Result     string          `json:"result"` // success, failure, timeout, panic, local_stall
	LocalStall bool            `json:"local_stall"`
}

// History returns the named check's recent results, oldest first.
func (s *Snapshot) History(name string) []ResultView { return s.Recent(name, -1) }

// Recent returns the named check's last n results (n < 0: all kept),
// oldest first.
func (s *Snapshot) Recent(name string, n int) []ResultView {
	h := s.history[name]
	if n >= 0 && n < len(h) {
		h = h[len(h)-n:]
	}
	out := make([]ResultView, len(h))
	for i, smp := range h {
		out[i] = smp.view()
	}
	return out
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func roundAll(in map[string]float64) map[string]float64 {
	out := maps.Clone(in)
	for k, v := range out {
		out[k] = round4(v)
	}
	return out
}
