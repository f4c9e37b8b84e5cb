package p2p

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A node keeps a bounded degree: discovery dials while it has fewer than
// Config.ConnLow connections and stops there, and the connection manager
// trims above ConnHigh, sparing GossipSub's mesh peers (which GossipSub
// protects) and young connections. So whatever the mesh's size a node
// holds between GossipSub's D_lo and about ConnHigh links, and the mesh
// reaches everyone else through them: membership comes from the messages
// heard over gossip (pkg/liveness), not from the connection list.

// wantLinks reports whether the node has fewer links than it seeks.
func (n *Node) wantLinks() bool {
	return n.degree <= 0 || len(n.Host.Network().Peers()) < n.degree
}

// topUp dials peers of the DHT's routing table while the node has fewer
// links than it seeks: the way a node that entered through a bootstrap
// peer (the only one it knows) finds the rest of its degree once that
// peer trims it, without mDNS. Every rediscoverEvery, a few at a time, in
// random order so that the nodes below their degree do not all dial the
// same peers. The same look repairs GossipSub's forgotten peers
// (resyncGossip).
func (n *Node) topUp(ctx context.Context) {
	t := time.NewTicker(rediscoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.resyncGossip(time.Now())
		if n.Gater.Isolated() || !n.wantLinks() {
			continue
		}
		missing := n.degree - len(n.Host.Network().Peers())
		for _, p := range topUpCandidates(n.DHT.RoutingTable().ListPeers(), n.Host.ID(), n.connectedTo, missing) {
			dctx, cancel := context.WithTimeout(ctx, dialTimeout)
			if err := n.Host.Connect(dctx, peer.AddrInfo{ID: p}); err != nil {
				n.log.Debug("top-up dial failed", "peer", p, "err", err)
			}
			cancel()
		}
	}
}

// connectedTo reports whether the node has a connection to p.
func (n *Node) connectedTo(p peer.ID) bool {
	return n.Host.Network().Connectedness(p) == network.Connected
}

// topUpCandidates picks up to missing peers of known that are neither self
// nor connected, in random order.
func topUpCandidates(known []peer.ID, self peer.ID, connected func(peer.ID) bool, missing int) []peer.ID {
	if missing <= 0 {
		return nil
	}
	var out []peer.ID
	for _, i := range rand.Perm(len(known)) {
		p := known[i]
		if p == self || connected(p) {
			continue
		}
		out = append(out, p)
		if len(out) == missing {
			break
		}
	}
	return out
}
