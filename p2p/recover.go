package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The repairs a node cut off by its own fault tries before it gives up
// (pkg/recovery runs them, cheapest first). Each is bounded by its context
// and reports whether it got this node a link.

// redialParallel is how many known peers a redial dials at once.
const redialParallel = 8

// redialMax bounds how many known peers one redial tries: enough to find
// a way back into any mesh, few enough that a node that knew hundreds does
// not open a connection to each.
const redialMax = 64

// errNoLink is a repair that ended without a link.
var errNoLink = errors.New("no peer connected")

// RedialKnown dials the peers this node knows an address of and is not
// connected to: extra first (the last-known peers kept in the data
// directory, or the neighbours a rejoin just closed: the likeliest way
// back, which the cap must not leave out of a large peerstore), then the
// peerstore's, at most redialMax, a few at a time, past the swarm's dial
// backoff (which after a partition would answer from its cache without
// dialling). It returns how many it connected to.
func (n *Node) RedialKnown(ctx context.Context, extra []peer.AddrInfo) (int, error) {
	self := n.Host.ID()
	ps := n.Host.Peerstore()
	seen := map[peer.ID]bool{self: true}
	var targets []peer.AddrInfo
	add := func(ai peer.AddrInfo) {
		if seen[ai.ID] || len(targets) >= redialMax || n.connectedTo(ai.ID) {
			return
		}
		seen[ai.ID] = true
		targets = append(targets, ai)
	}
	for _, ai := range extra {
		add(ai)
	}
	for _, id := range ps.PeersWithAddrs() {
		add(ps.PeerInfo(id))
	}
	n.redial.kickAll()
	if len(targets) == 0 {
		return 0, errors.New("no known peer to dial")
	}
	var (
		mu        sync.Mutex
		connected int
		wg        sync.WaitGroup
		sem       = make(chan struct{}, redialParallel)
	)
	for _, ai := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := n.Host.Connect(network.WithForceDirectDial(ctx, "meshhealth recovery"), ai); err != nil {
				n.log.Debug("recovery redial failed", "peer", ai.ID, "err", err)
				return
			}
			mu.Lock()
			connected++
			mu.Unlock()
		})
	}
	wg.Wait()
	if connected == 0 {
		return 0, fmt.Errorf("%d known peers dialled: %w", len(targets), errNoLink)
	}
	return connected, nil
}

// AskMDNS asks the local link for peers afresh (a new browse, whose first
// questions go out at once) and waits until this node has a link or ctx
// ends. Without mDNS it fails at once.
func (n *Node) AskMDNS(ctx context.Context) error {
	d, ok := n.mdns.(*mdnsDiscovery)
	if !ok || d == nil {
		return errors.New("mDNS is off")
	}
	d.stopBrowsing()
	d.startBrowsing()
	return n.waitLink(ctx)
}

// RefreshDHT bootstraps the DHT again, refreshes its routing table, and
// dials the peers the table then holds, until this node has a link or ctx
// ends.
func (n *Node) RefreshDHT(ctx context.Context) error {
	if n.DHT == nil {
		return errors.New("no DHT")
	}
	if err := n.DHT.Bootstrap(ctx); err != nil {
		return fmt.Errorf("dht bootstrap: %w", err)
	}
	select {
	case err := <-n.DHT.ForceRefresh():
		if err != nil {
			n.log.Debug("recovery dht refresh", "err", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	var ais []peer.AddrInfo
	for _, id := range n.DHT.RoutingTable().ListPeers() {
		ais = append(ais, peer.AddrInfo{ID: id})
	}
	if len(ais) > 0 {
		if _, err := n.RedialKnown(ctx, ais); err == nil {
			return nil
		}
	}
	return n.waitLink(ctx)
}

// Rejoin starts GossipSub afresh with every peer: it closes its
// connections to them and dials them again, former neighbours first, then
// the other peers it knows (RedialKnown), so each side forgets the other
// and, on the new connection, tells it every topic it is subscribed to and
// grafts it without a backoff. It is the repair for a node that still has
// links but whose peers no longer route its topics to it (a subscription
// lost, a mesh left half-built), and what leaving the meshhealth topics
// and joining them again would do without its cost: a leave sends each
// mesh peer a PRUNE whose backoff keeps the two apart once it is back,
// while a closed connection leaves no backoff behind. It reports an error
// when no peer was connected again.
func (n *Node) Rejoin(ctx context.Context) error {
	ps := n.Host.Peerstore()
	var was []peer.AddrInfo
	for _, id := range n.Host.Network().Peers() {
		if ai := ps.PeerInfo(id); len(ai.Addrs) > 0 {
			was = append(was, ai)
		}
		_ = n.Host.Network().ClosePeer(id)
	}
	_, err := n.RedialKnown(ctx, was)
	return err
}

// waitLink waits until the node has a connection or ctx ends.
func (n *Node) waitLink(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if len(n.Host.Network().Peers()) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return errNoLink
		case <-t.C:
		}
	}
}

// KnownAddrs lists the connected peers with the addresses this node holds
// for them, at most max: the last-known addresses the node keeps in its
// data directory so that a restart, or a recovery, can rejoin without mDNS
// or a bootstrap list.
func (n *Node) KnownAddrs(max int) []peer.AddrInfo {
	var out []peer.AddrInfo
	for _, id := range n.Host.Network().Peers() {
		if len(out) >= max {
			break
		}
		ai := n.Host.Peerstore().PeerInfo(id)
		if len(ai.Addrs) > 0 {
			out = append(out, ai)
		}
	}
	return out
}
