// Package summary runs the meshhealth/summary/v1 topic: every node publishes
// a short health summary every 10 s (longer in a large mesh: the message
// budget), early when its status changes, and a goodbye when it leaves on
// purpose, and keeps the latest summary of each peer (Book.Peers,
// Book.Latest). Who is alive is pkg/liveness's answer, not this package's:
// the summaries and goodbyes it accepts are evidence for that view, through
// the topic validator the node wraps. It does own the summaries' timing:
// their share of the mesh's message budget, the early summary on a status
// change (StatusChanged), and how long a peer may be silent before the
// liveness view suspects it (Silence: three of its summary intervals).
//
// It depends on a joined topic (*pubsub.Topic) through a small interface,
// on p2p/wire for the bytes and pkg/status for the words, and on none of
// the node's other packages: the node hands it a function returning its
// current values. What each package may import is the table in
// docs/ARCHITECTURE.md, enforced by internal/importboss.
package summary
