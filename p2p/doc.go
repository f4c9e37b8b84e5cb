// Package p2p is the libp2p side of a meshhealth node: the host (TCP and
// QUIC, Noise and TLS, yamux), its identity key kept in the data directory,
// GossipSub with strict message signing, a Kademlia DHT on its own protocol
// prefix (/meshhealth) in server mode, discovery by bootstrap multiaddrs
// (redialled with backoff whenever the node lacks links), by mDNS and from
// the DHT's routing table, a bounded degree (discovery seeks ConnLow links,
// the connection manager trims above ConnHigh, sparing GossipSub's mesh),
// the resource manager, and a connection gater that can cut the node off
// the network on purpose (the "network isolate" fault).
//
// The mesh is private: there are no default bootstrap peers, no NAT port
// mapping, no relay, no AutoNAT service and no hole punching, so a node never
// reaches out to the public IPFS network.
//
// Start works on any host.Host, so the whole mesh can be tested in one
// process on mocknet. The wire messages live in p2p/wire.
//
// The node's other packages depend on it, through small interfaces of their
// own, so it imports none of them but p2p/wire. What each package may import
// is the table in docs/ARCHITECTURE.md, enforced by internal/importboss.
package p2p
