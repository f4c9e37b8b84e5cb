package p2p

import (
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Gater is the host's connection gater. While isolated it refuses every new
// connection, inbound and outbound, at every stage the swarm asks; otherwise
// it allows everything (the mesh is trusted at this layer: GossipSub and DHT
// validators judge what peers send).
type Gater struct {
	isolated atomic.Bool
}

var _ connmgr.ConnectionGater = (*Gater)(nil)

// NewGater returns a gater that allows every connection.
func NewGater() *Gater { return &Gater{} }

// SetIsolated turns refusal of new connections on or off. It does not close
// existing connections: Node.Isolate does both.
func (g *Gater) SetIsolated(on bool) { g.isolated.Store(on) }

// Isolated reports whether new connections are refused.
func (g *Gater) Isolated() bool { return g.isolated.Load() }

func (g *Gater) allow() bool { return !g.isolated.Load() }

// InterceptPeerDial refuses outbound dials while isolated.
func (g *Gater) InterceptPeerDial(peer.ID) bool { return g.allow() }

// InterceptAddrDial refuses outbound dials while isolated.
func (g *Gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return g.allow() }

// InterceptAccept refuses inbound connections while isolated, before any
// handshake is spent on them.
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool { return g.allow() }

// InterceptSecured catches connections whose handshake was under way when
// isolation began.
func (g *Gater) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return g.allow()
}

// InterceptUpgraded is the last chance to refuse a connection that raced
// with isolation.
func (g *Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return g.allow(), 0
}
