// Package wire defines the meshhealth GossipSub messages: one versioned JSON
// object per message, at most MaxSize bytes, decoded strictly, and the
// pubsub validator every meshhealth topic registers.
//
// It is the single place that knows the bytes on the wire, so the probe,
// election and summary code never parse JSON themselves and a peer written in
// another language has one contract to follow (docs/PROTOCOL.md).
//
// Of the node's packages it imports only the shared vocabulary, pkg/status:
// the others import it (docs/ARCHITECTURE.md's table, enforced by
// internal/importboss). Its only libp2p dependencies are core/peer and
// go-libp2p-pubsub's validator types.
package wire
