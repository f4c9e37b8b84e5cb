package p2p

import (
	dht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p/conntags"
)

// The DHT's lookup width: see newDHT.
const (
	dhtBucketSize  = 8
	dhtConcurrency = 3
)

// newDHT starts the meshhealth Kademlia DHT: its own protocol prefix, server
// mode (every node of a LAN mesh is reachable, so every node serves), seeded
// only by the configured bootstrap peers, never the public IPFS ones. Its
// routing-table peers are weighed for trims, not protected (p2p/conntags).
//
// Only members enter its routing table or are asked in a lookup (admit),
// so no record comes from, and no query goes to, a peer outside the mesh.
func newDHT(h host.Host, boot []peer.AddrInfo, validators map[string]record.Validator, admit func(peer.ID) bool) (*dht.IpfsDHT, error) {
	ns := record.NamespacedValidator{Namespace: ShapeValidator{}}
	for name, v := range validators {
		ns[name] = v
	}
	return dht.New(conntags.Host(h, conntags.KbucketPeer),
		dht.ProtocolPrefix(DHTProtocolPrefix),
		dht.Mode(dht.ModeServer),
		// Validator (not NamespacedValidator) so the public DHT's pk and
		// ipns namespaces are not added: this mesh accepts only its own.
		dht.Validator(ns),
		dht.BootstrapPeers(boot...),
		dht.RoutingTableFilter(func(_ any, p peer.ID) bool { return admit(p) }),
		dht.QueryFilter(func(_ any, ai peer.AddrInfo) bool { return admit(ai.ID) }),
		// Every peer a lookup asks is a link, held for the connection
		// manager's grace (10 s) after its one request: with the library's
		// k = 20 and alpha = 10 a DHT probe at N = 30 touched two thirds of
		// the mesh and lifted every node's degree far past conn-high. k = 8
		// still stores each record on 8 nodes (the probe reads it back from
		// 3); alpha = 3 is Kademlia's own, and on a LAN the extra rounds
		// cost milliseconds.
		dht.BucketSize(dhtBucketSize),
		dht.Concurrency(dhtConcurrency),
	)
}
