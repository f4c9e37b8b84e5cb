// Package membership decides who may join the mesh: an allow-list of peer
// IDs, read from a file the operator writes and re-read when it changes.
// It decides; it enforces nothing. The p2p package asks it (through an
// interface of its own) at every edge where a peer gets in: the connection
// gater after the security handshake, GossipSub's peer filter and
// validators, the DHT's routing table and queries, mDNS sightings.
//
// The list's parser is pure (bytes in, a set or one error per bad line
// out); Members holds the set in force and swaps it atomically; Watch is
// the one goroutine, polling the file. It imports nothing of ours and no
// libp2p beyond the peer ID type.
package membership
