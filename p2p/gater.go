package p2p

import (
	"log/slog"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Gater is the host's connection gater. While isolated it refuses every new
// connection, inbound and outbound, at every stage the swarm asks. With a
// membership (SetMembership) it refuses every peer the membership does not
// admit: dials to it, and connections from or to it once the security
// handshake has proved its peer ID, before any protocol runs. Otherwise it
// allows everything (GossipSub and DHT validators judge what peers send).
type Gater struct {
	isolated atomic.Bool
	members  atomic.Pointer[memberRule]
	refusals *refusals
	// refusedBy are the peers that refused this node lately: not dialled
	// again for refusedDialBackoff.
	refusedBy *refusedBy
}

// memberRule boxes a Membership for an atomic pointer.
type memberRule struct{ m Membership }

var _ connmgr.ConnectionGater = (*Gater)(nil)

// NewGater returns a gater that allows every connection.
func NewGater() *Gater { return &Gater{refusals: newRefusals(), refusedBy: newRefusedBy()} }

// SetMembership makes the gater refuse peers m does not admit (nil: none),
// logging refusals to log once an hour per peer. Connections already open
// stay: Node.Enforce closes those.
func (g *Gater) SetMembership(m Membership, log *slog.Logger) {
	if log != nil {
		g.refusals.mu.Lock()
		g.refusals.log = log
		g.refusals.mu.Unlock()
	}
	if m == nil {
		g.members.Store(nil)
		return
	}
	g.members.Store(&memberRule{m})
}

func (g *Gater) admit(id peer.ID) bool {
	r := g.members.Load()
	return r == nil || r.m.Admit(id)
}

// member is admit, counting and logging a refusal.
func (g *Gater) member(id peer.ID, what string) bool {
	if g.admit(id) {
		return true
	}
	g.refusals.refuse(id, RefusedNotMember, what)
	return false
}

// SetIsolated turns refusal of new connections on or off. It does not close
// existing connections: Node.Isolate does both.
func (g *Gater) SetIsolated(on bool) { g.isolated.Store(on) }

// Isolated reports whether new connections are refused.
func (g *Gater) Isolated() bool { return g.isolated.Load() }

func (g *Gater) allow() bool { return !g.isolated.Load() }

// InterceptPeerDial refuses outbound dials while isolated, dials to a
// non-member (a bootstrap address or a sighting of one) always, and dials
// to a peer that refused this node within refusedDialBackoff.
func (g *Gater) InterceptPeerDial(p peer.ID) bool {
	return g.allow() && g.member(p, "dial") && !g.refusedBy.backingOff(p)
}

// InterceptAddrDial refuses outbound dials while isolated.
func (g *Gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return g.allow() }

// InterceptAccept refuses inbound connections while isolated, before any
// handshake is spent on them.
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool { return g.allow() }

// InterceptSecured catches connections whose handshake was under way when
// isolation began, and refuses a non-member: the first point at which the
// other end's peer ID is proved (it holds the key), and before any stream,
// identify included, is opened. Over TCP and QUIC alike.
func (g *Gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.allow() && g.member(p, "handshake")
}

// InterceptUpgraded is the last chance to refuse a connection that raced
// with isolation or with a change of the membership.
func (g *Gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if !g.allow() {
		return false, 0
	}
	if g.members.Load() == nil {
		return true, 0
	}
	return g.member(c.RemotePeer(), "upgrade"), 0
}
