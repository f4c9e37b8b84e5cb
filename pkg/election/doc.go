// Package election elects one leader among the meshhealth nodes over the
// GossipSub topic meshhealth/election/v1, with heartbeats, and reports who
// leads, since when and how steadily, for the health checks and the HTTP
// API.
//
// The decisions live in machine, a pure state machine in the style of
// etcd's raft: it reads no clock and does no I/O; time comes in through
// Tick and Step, messages to publish and events go out through ready. The
// Election type is the driver at the edge: it owns the topic, the timer and
// the metrics.
//
// The protocol in one paragraph (docs/PROTOCOL.md has the full text): a
// node's support is its latest Vote (or, for a leader, its own Heartbeat);
// the leader is the live claimant supported by more than half of the
// members, the peers heard on the topic within member_ttl. Followers re-send
// their vote as a standing endorsement, so every node can count the
// majority itself, including nodes that missed the election. That is what
// makes a forged Heartbeat harmless and lets a healed partition converge.
//
// Of the node's packages it imports only p2p/wire and pkg/status; node
// imports it and hands it, as it is, to the election-stability probe
// (probes.ElectionView: Leader, HeartbeatAge, HeartbeatJitter,
// LeaderChanges). What each package may import is the table in
// docs/ARCHITECTURE.md, enforced by internal/importboss.
package election
