// Package status is the node's vocabulary: the statuses a node reports and
// the names of its components, as they appear in /health, in the metrics'
// labels and in the summaries on the wire (docs/API.md, docs/PROTOCOL.md).
// The health manager decides the status; the wire validator, the election,
// the summaries and the testnet read it, all with these constants rather
// than string literals that could drift apart.
//
// It is a leaf: it imports nothing, and every package may import it
// (internal/importboss), the testnet included, since these words are part
// of the node's HTTP contract.
package status

// Status is a node's overall status. Its string is what /health, the
// metrics and the summaries carry.
type Status string

// The statuses, in the order a node passes through them.
const (
	Starting  Status = "starting"
	Healthy   Status = "healthy"
	Degraded  Status = "degraded"
	Unhealthy Status = "unhealthy"
	Stopping  Status = "stopping"
)

// All is every status, in the order above.
func All() []Status { return []Status{Starting, Healthy, Degraded, Unhealthy, Stopping} }

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	switch s {
	case Starting, Healthy, Degraded, Unhealthy, Stopping:
		return true
	}
	return false
}

// Serving reports whether a node in this status serves traffic: readiness
// and /health answer 200 only for these.
func (s Status) Serving() bool { return s == Healthy || s == Degraded }

// Component names a part of the node that checks belong to and that has a
// score of its own.
type Component string

// The components every node has. Custom checks may name others.
const (
	PubSub    Component = "pubsub"
	DHT       Component = "dht"
	P2P       Component = "p2p"
	Election  Component = "election"
	Resources Component = "resources"
)

// Components is every built-in component, in the order /health and the
// testnet list them (heaviest default weight first).
func Components() []Component { return []Component{PubSub, DHT, P2P, Election, Resources} }
