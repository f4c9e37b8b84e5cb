// Package conntags weighs, in a bounded-degree host's connection manager,
// the peers GossipSub and the Kademlia DHT would protect: their
// protections become tags, so a trim can still take those links. It is a
// leaf of libp2p adapters with no health logic, shared by the node's p2p
// layer and the bench's bare libp2p host, so the baseline holds the
// node's degree.
package conntags

import (
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Values of the links GossipSub and the DHT would protect, per tag, as the
// connection manager weighs them when it trims: a GossipSub mesh peer
// (per topic) far above a DHT routing-table peer, which go-libp2p-kad-dht
// tags 5 (or protects: see tagsInstead).
const (
	MeshPeer    = 100
	KbucketPeer = 5
)

// tagsInstead is the connection manager as GossipSub or the DHT sees it:
// their protection of a peer becomes a tag worth value. Protected, the
// links of a node with a small degree could not be trimmed at all:
// go-libp2p-pubsub's tag tracer protects every peer in the mesh of each
// topic (three meshes, each chosen on its own among the connected peers,
// together hold nearly every link of a node with a dozen), and
// go-libp2p-kad-dht protects the peers of its two farthest buckets (three
// quarters of any routing table). A 10-node mesh at conn-high 4 kept all
// 9 links each; a bare host without it, 25 links at conn-high 16.
// Tagged, a trim keeps conn-low links and chooses the mesh peers among
// them first; GossipSub then grafts within the links that are left, so
// its meshes hold together inside the bound. Not a Decayer, so the pubsub
// tracer's decaying delivery tags are off: a delivery count is no reason
// to keep a link beside the mesh's own.
type tagsInstead struct {
	connmgr.ConnManager
	value int
}

func (t tagsInstead) Protect(id peer.ID, tag string) { t.TagPeer(id, tag, t.value) }

func (t tagsInstead) Unprotect(id peer.ID, tag string) bool {
	t.UntagPeer(id, tag)
	return false
}

// tagHost is h with tagsInstead for a connection manager: the host handed
// to GossipSub and the DHT.
type tagHost struct {
	host.Host
	cm connmgr.ConnManager
}

func (h tagHost) ConnManager() connmgr.ConnManager { return h.cm }

// Host returns h for a part (GossipSub, the DHT) whose protections become
// tags of value.
func Host(h host.Host, value int) host.Host {
	return tagHost{Host: h, cm: tagsInstead{ConnManager: h.ConnManager(), value: value}}
}
