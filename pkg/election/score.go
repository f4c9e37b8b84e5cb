package election

import (
	"hash/fnv"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/pkg/status"
)

// Candidate score weights (docs/PROTOCOL.md, "Candidate score"). They sum to
// 1, so a score is in [0, 1] like every score on the wire.
const (
	weightUptime       = 0.30
	weightHealth       = 0.30
	weightConnectivity = 0.20
	weightHeadroom     = 0.10
	weightTieBreak     = 0.10
)

// uptimeSaturation is the uptime that earns the full uptime term. Past ten
// minutes a node has shown it is not crash-looping; longer says little more,
// and a cap keeps a fresh mesh from being led by whoever booted first by
// seconds.
const uptimeSaturation = 10 * time.Minute

// connectivityDegree is the number of connections that earns the full
// connectivity term: GossipSub's D_hi (12), the most peers its mesh of a
// topic holds. A node with that many links publishes to a full GossipSub
// mesh, and multi-hop gossip carries its heartbeats to every member;
// more links make it no better a leader. Dividing by the members instead
// punished every node of a mesh of bounded degree (16 links among 1,000
// members scored 0.016).
const connectivityDegree = 12

// inputs is what the local node tells the machine about itself.
type inputs struct {
	Status         status.Status // health status; unhealthy never stands
	HealthScore    float64       // system health score in [0, 1]
	ConnectedPeers int
	Headroom       float64 // resource headroom in [0, 1]
	// Members is how many members the node's liveness view knows: itself
	// and every peer alive or suspect, heard over multi-hop gossip on any
	// meshhealth topic (or connected). 0 when the node has no such view.
	Members int
	// Outranked is how many members the liveness view knows that have a
	// better tie-break than this node: 0 for the node best placed to stand
	// first at start. Counted only while the node is starting
	// (machine.starting).
	Outranked int
	// Gone reports the peers the node's liveness view holds dead or
	// departed; nil when the node has no such view.
	Gone func(peer.ID) bool
	// Suspected reports the peers the liveness view suspects (silent, not
	// yet confirmed dead), and Suspects counts them among Members; nil and
	// 0 when the node has no such view.
	Suspected func(peer.ID) bool
	Suspects  int
	// Lost is how much of [from, to] this process could not run
	// (stalled, paused or starved of CPU); nil when the node has no
	// awareness of itself.
	Lost func(from, to time.Time) time.Duration
}

// candidateScore is the weighted sum of docs/PROTOCOL.md. Connectivity is
// the node's connections over min(other members, connectivityDegree).
func candidateScore(self peer.ID, in inputs, uptime time.Duration, members int) float64 {
	up := math.Min(uptime.Seconds()/uptimeSaturation.Seconds(), 1)
	want := max(min(members-1, connectivityDegree), 1)
	conn := math.Min(float64(in.ConnectedPeers)/float64(want), 1)
	s := weightUptime*clamp01(up) + weightHealth*clamp01(in.HealthScore) +
		weightConnectivity*clamp01(conn) + weightHeadroom*clamp01(in.Headroom) +
		weightTieBreak*tieBreak(self)
	return clamp01(s)
}

// tieBreak maps a peer ID to a stable number in [0, 1), so equal nodes
// still differ and every node computes the same order.
func tieBreak(id peer.ID) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// outranked counts the members whose tie-break beats self's.
func outranked(self peer.ID, peers []peer.ID) int {
	mine, n := tieBreak(self), 0
	for _, p := range peers {
		if p != self && tieBreak(p) > mine {
			n++
		}
	}
	return n
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Min(v, 1)
}
