package p2p

import (
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// GossipSub (go-libp2p-pubsub v0.19) can forget a connected peer's
// subscriptions for good. When its outbound stream to a peer dies while
// another connection to the peer stays up (one of two simultaneous dials
// closed by the connection manager; a crashed peer's stale connection
// reset once the peer restarted on the same address), it clears the
// peer's topics, opens a new stream and sends its own subscriptions; the
// peer, whose stream to us is untouched, never sends its own again. From
// then on this node lists the peer in no topic: it publishes to it only
// through a GRAFT the peer happens to send, never on its direct probe
// topic, and every probe the peer asks it to answer there goes unanswered
// until the connection drops. In the simulator a node restarted after a
// crash exited 3 for it, its two peers never answering.
//
// A disconnect is the repair that resets both sides: each forgets the
// other whole, and the next connection (top-up, redial, the peer's own)
// starts with both hellos. So a node remembers the peers whose outbound
// stream GossipSub closed, and at its next look (every rediscoverEvery) a
// peer still connected, that long since, and in none of the meshhealth
// topics is disconnected. A peer that appears in a topic again (both
// streams died, so both hellos were sent) or that disconnected meanwhile
// is forgotten.

// resyncSettle is how long after its stream closed a peer may stay out of
// every topic before it is disconnected: the peer's own hello, when both
// streams died, arrives within a round trip.
const resyncSettle = 2 * time.Second

// streamLoss is a GossipSub RawTracer that remembers the peers whose
// outbound stream closed, and when.
type streamLoss struct {
	noopTracer
	mu     sync.Mutex
	closed map[peer.ID]time.Time
}

var _ pubsub.RawTracer = (*streamLoss)(nil)

func newStreamLoss() *streamLoss { return &streamLoss{closed: map[peer.ID]time.Time{}} }

func (s *streamLoss) OnClosedOutboundStream(p peer.ID) {
	s.mu.Lock()
	s.closed[p] = time.Now()
	s.mu.Unlock()
}

// take returns the peers whose stream closed at least settle before now,
// and forgets them.
func (s *streamLoss) take(now time.Time, settle time.Duration) []peer.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []peer.ID
	for p, at := range s.closed {
		if now.Sub(at) >= settle {
			out = append(out, p)
			delete(s.closed, p)
		}
	}
	return out
}

// resyncGossip disconnects the peers GossipSub has forgotten (see above).
// Only a node that built its GossipSub has the tracer; an application's
// own is left alone.
func (n *Node) resyncGossip(now time.Time) {
	if n.lost == nil {
		return
	}
	var topics map[string][]peer.ID
	for _, p := range n.lost.take(now, resyncSettle) {
		if n.Host.Network().Connectedness(p) != network.Connected {
			continue
		}
		if topics == nil {
			topics = map[string][]peer.ID{}
			for _, t := range wire.Topics() {
				topics[t] = n.PubSub.ListPeers(t)
			}
		}
		if subscribedAnywhere(topics, p) {
			continue
		}
		n.log.Debug("gossipsub forgot a connected peer's subscriptions; disconnecting it to start afresh", "peer", p)
		if n.gossip != nil {
			n.gossip.resyncs.Inc()
		}
		_ = n.Host.Network().ClosePeer(p)
	}
}

func subscribedAnywhere(topics map[string][]peer.ID, p peer.ID) bool {
	for _, ps := range topics {
		if slices.Contains(ps, p) {
			return true
		}
	}
	return false
}
