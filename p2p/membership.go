package p2p

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/metrics"
)

// Membership decides which peers belong to the mesh (pkg/membership's
// Members, in the node). The node asks it wherever a peer could get in:
// the gater after the security handshake (so an outsider is refused before
// any protocol runs on the connection), GossipSub's peer filter and
// default validator, the DHT's routing table and queries, mDNS sightings.
// Nil admits everyone. Admit runs on libp2p's hot paths: it must not block.
type Membership interface {
	Admit(peer.ID) bool
}

// Refusal reasons, the reason label of meshhealth_peers_refused_total.
const (
	// RefusedNotMember: a connection or dial to a peer the membership does
	// not admit was refused.
	RefusedNotMember = "not_member"
	// RefusedRemoved: a connected peer the membership stopped admitting
	// (taken off the list) was disconnected.
	RefusedRemoved = "removed"
)

// refusalLogEvery is how often one refused peer is logged: an outsider
// that redials every few seconds must not fill the log, yet an operator
// reading the last hour sees every one of them.
const refusalLogEvery = time.Hour

// maxRefusalLog bounds the peers whose last log line is remembered; past
// it, new peers are counted but not logged until old entries expire (a
// flood of fresh peer IDs cannot grow the map).
const maxRefusalLog = 4096

// refusedMemory is how long a peer that closed a connection before
// identify is held to have refused this node (RefusedBy).
const refusedMemory = time.Minute

// refusedDialBackoff is how long this node does not dial a peer that
// refused it (closed the connection before identify). Every part dials on
// its own (the redials, the DHT, liveness pings, the probes), so a node
// the mesh's allow-list leaves out dialled a member four times a second;
// the gater holds them all back in one place. The redialer's dials pass
// (letNext): it backs off on its own from a peer whose connections close
// at once, and a peer that refused only for a while (an isolated node,
// which refuses everyone) is found again as soon as without it.
const refusedDialBackoff = MaxRedialBackoff

// refusals counts and logs the peers this node refuses.
type refusals struct {
	notMember, removed atomic.Uint64

	mu     sync.Mutex
	log    *slog.Logger
	logged map[peer.ID]time.Time
	now    func() time.Time
}

func newRefusals() *refusals {
	return &refusals{log: slog.New(slog.DiscardHandler), logged: map[peer.ID]time.Time{}, now: time.Now}
}

// refuse counts a refusal of id and logs it unless id was logged within
// the last refusalLogEvery.
func (r *refusals) refuse(id peer.ID, reason, what string) {
	switch reason {
	case RefusedRemoved:
		r.removed.Add(1)
	default:
		r.notMember.Add(1)
	}
	r.mu.Lock()
	now := r.now()
	if !r.shouldLog(id, now) {
		r.mu.Unlock()
		return
	}
	log := r.log
	r.mu.Unlock()
	log.Warn("peer refused: not a member of this mesh (logged once an hour per peer)", "peer", id, "reason", reason, "at", what)
}

// shouldLog is the once-an-hour rule; r.mu is held.
func (r *refusals) shouldLog(id peer.ID, now time.Time) bool {
	if last, ok := r.logged[id]; ok && now.Sub(last) < refusalLogEvery {
		return false
	}
	if len(r.logged) >= maxRefusalLog {
		for p, t := range r.logged {
			if now.Sub(t) >= refusalLogEvery {
				delete(r.logged, p)
			}
		}
		if len(r.logged) >= maxRefusalLog {
			return false
		}
	}
	r.logged[id] = now
	return true
}

func (r *refusals) total() uint64 { return r.notMember.Load() + r.removed.Load() }

// register exports the counts as meshhealth_peers_refused_total{reason}.
func (r *refusals) register(reg prometheus.Registerer) error {
	for reason, c := range map[string]*atomic.Uint64{RefusedNotMember: &r.notMember, RefusedRemoved: &r.removed} {
		f := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "meshhealth_peers_refused_total",
			Help:        "Peers refused because the mesh's membership does not admit them: connections and dials refused (not_member), connected peers disconnected after the list dropped them (removed).",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(c.Load()) })
		if err := metrics.Register(reg, f); err != nil {
			return err
		}
	}
	return nil
}

// Admit reports whether the node's membership admits id (everyone without
// one).
func (n *Node) Admit(id peer.ID) bool { return n.Gater.admit(id) }

func (n *Node) admit(id peer.ID) bool { return n.Gater.admit(id) }

// Refused is how many times this node refused a peer (every reason).
func (n *Node) Refused() uint64 { return n.Gater.refusals.total() }

// Enforce disconnects every connected peer the membership no longer
// admits. The node calls it after each change of the allow-list; the
// gater keeps them out from then on.
func (n *Node) Enforce() {
	for _, p := range n.Host.Network().Peers() {
		if n.admit(p) {
			continue
		}
		n.Gater.refusals.refuse(p, RefusedRemoved, "list change")
		if err := n.Host.Network().ClosePeer(p); err != nil {
			n.log.Debug("close a removed peer", "peer", p, "err", err)
		}
	}
}

// RefusedBy is how many peers closed this node's connection to them
// before identify completed, within the last minute, and are not
// connected now: what a mesh whose gater refuses this node looks like
// from here (the refusal itself says nothing on the wire). A crash in
// the middle of a handshake looks the same, but not from several peers
// at once.
func (n *Node) RefusedBy() int {
	return n.Gater.refusedBy.count(func(p peer.ID) bool {
		return n.Host.Network().Connectedness(p) == network.Connected
	})
}

// refusedBy remembers the peers that refused this node.
type refusedBy struct {
	mu    sync.Mutex
	peers map[peer.ID]time.Time // when identify with it last failed
	// pass lets the next dial to a peer through the backoff: the
	// redialer's, which keeps a backoff of its own for a peer whose
	// connections close at once.
	pass map[peer.ID]bool
	now  func() time.Time
}

func newRefusedBy() *refusedBy {
	return &refusedBy{peers: map[peer.ID]time.Time{}, pass: map[peer.ID]bool{}, now: time.Now}
}

// letNext lets the next dial to p through the backoff.
func (r *refusedBy) letNext(p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.peers[p]; ok {
		r.pass[p] = true
	}
}

func (r *refusedBy) failed(p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, known := r.peers[p]; !known && len(r.peers) >= maxRefusalLog {
		r.expire(r.now())
		if len(r.peers) >= maxRefusalLog {
			return // a flood of fresh peer IDs cannot grow the map
		}
	}
	r.peers[p] = r.now()
}

func (r *refusedBy) identified(p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.peers, p)
	delete(r.pass, p)
}

// backingOff reports whether p refused this node within refusedDialBackoff.
func (r *refusedBy) backingOff(p peer.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pass[p] {
		delete(r.pass, p)
		return false
	}
	t, ok := r.peers[p]
	return ok && r.now().Sub(t) < refusedDialBackoff
}

// count is the peers that refused this node within refusedMemory, less
// those connected now.
func (r *refusedBy) count(connected func(peer.ID) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(r.now())
	c := 0
	for p := range r.peers {
		if !connected(p) {
			c++
		}
	}
	return c
}

// expire forgets refusals older than refusedMemory; r.mu is held.
func (r *refusedBy) expire(now time.Time) {
	for p, t := range r.peers {
		if now.Sub(t) > refusedMemory {
			delete(r.peers, p)
			delete(r.pass, p)
		}
	}
}

// Identified reports whether identify has completed with id at least once:
// a connection on which it never did (a peer whose gater refused this
// node closes it right after the handshake) is no link to the mesh.
func (n *Node) Identified(id peer.ID) bool {
	protos, err := n.Host.Peerstore().GetProtocols(id)
	return err == nil && len(protos) > 0
}

// OnIdentified registers fn to be called each time identify completes
// with a peer, from one goroutine in event order; a slow fn delays the
// next ones, never the network.
func (n *Node) OnIdentified(fn func(peer.ID)) {
	n.identifiedMu.Lock()
	defer n.identifiedMu.Unlock()
	n.onIdentified = append(n.onIdentified, fn)
}

// watchIdentify follows identify's outcome per peer for RefusedBy and
// OnIdentified.
func (n *Node) watchIdentify(ctx context.Context) error {
	sub, err := n.Host.EventBus().Subscribe([]any{new(event.EvtPeerIdentificationFailed), new(event.EvtPeerIdentificationCompleted)})
	if err != nil {
		return err
	}
	n.wg.Go(func() {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Out():
				if !ok {
					return
				}
				switch e := e.(type) {
				case event.EvtPeerIdentificationFailed:
					// While isolated, this node closes connections
					// itself (mocknet has no gater to refuse them).
					if !n.Gater.Isolated() {
						n.Gater.refusedBy.failed(e.Peer)
					}
				case event.EvtPeerIdentificationCompleted:
					n.Gater.refusedBy.identified(e.Peer)
					n.identifiedMu.Lock()
					fns := n.onIdentified
					n.identifiedMu.Unlock()
					for _, fn := range fns {
						fn(e.Peer)
					}
				}
			}
		}
	})
	return nil
}

// memberPubSub keeps non-members out of every topic: the peer filter
// leaves them out of the mesh, fanout and gossip (so nothing is sent to
// them), and the default validator rejects a message a non-member sent or
// wrote (a member forwarding an outsider's message included).
func memberPubSub(admit func(peer.ID) bool) []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithPeerFilter(func(p peer.ID, _ string) bool { return admit(p) }),
		pubsub.WithDefaultValidator(func(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
			if !admit(from) || !admit(peer.ID(m.GetFrom())) {
				return pubsub.ValidationReject
			}
			return pubsub.ValidationAccept
		}),
	}
}
