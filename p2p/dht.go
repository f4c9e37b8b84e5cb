package p2p

import (
	dht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// newDHT starts the meshhealth Kademlia DHT: its own protocol prefix, server
// mode (every node of a LAN mesh is reachable, so every node serves), seeded
// only by the configured bootstrap peers, never the public IPFS ones.
func newDHT(h host.Host, boot []peer.AddrInfo, validators map[string]record.Validator) (*dht.IpfsDHT, error) {
	ns := record.NamespacedValidator{Namespace: ShapeValidator{}}
	for name, v := range validators {
		ns[name] = v
	}
	return dht.New(h,
		dht.ProtocolPrefix(DHTProtocolPrefix),
		dht.Mode(dht.ModeServer),
		// Validator (not NamespacedValidator) so the public DHT's pk and
		// ipns namespaces are not added: this mesh accepts only its own.
		dht.Validator(ns),
		dht.BootstrapPeers(boot...),
	)
}
