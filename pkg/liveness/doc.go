// Package liveness is the node's one view of which peers are alive. Every
// check that needs "who is alive" reads it; connections, accepted messages,
// acks, missed acks, pings, summaries and goodbyes feed it.
//
// A peer is in one of four states:
//
//   - alive: fresh evidence of life (a message it wrote, an ack, a new
//     connection, a ping answered).
//   - suspect: negative evidence (it missed an ack, a direct ping went
//     unanswered, or it has been silent far longer than its own publishing
//     rate explains). A suspect is verified directly (a libp2p ping, which
//     only its running process can answer) and is alive again on any
//     evidence of life.
//
// A member need not be a neighbour: with a bounded degree most members are
// heard only over multi-hop gossip, and a message is evidence about its
// author, not about the peer that forwarded it. So a closed connection is
// not held against a peer (connection managers trim links all the time):
// it is checked by one direct ping, which a process gone fails at once.
// The sweep pings only neighbours; the others are judged by their silence.
//   - dead: suspect for the whole suspicion timeout with no evidence of
//     life. Dead peers are never asked to answer probes and do not count
//     toward min_peers.
//   - left: it said goodbye. Leaving is not failing: a left peer is not
//     asked to answer probes, and a node whose last peer left is degraded,
//     not failing. A message it wrote after its goodbye makes it alive.
//
// The decisions live in Table, a pure state machine fed with evidence and
// ticks in the style of pkg/election's machine (memberlist's state.go and
// suspicion.go are the anchors): it reads no clock and does no I/O. View is
// the edge: a ticker, the pings, metrics and change listeners.
//
// Lifeguard's lesson (memberlist's awareness.go) applies to this node's own
// struggles: the time pkg/awareness finds this process stalled, paused
// (SIGSTOP, a VM pause) or starved of CPU is not counted as the peers'
// silence, nor toward their suspicion.
//
// Of the node's packages it imports only p2p/wire and pkg/awareness: the
// probes, the election
// and the node read it. What each package may import is the table in
// docs/ARCHITECTURE.md, enforced by internal/importboss.
package liveness
