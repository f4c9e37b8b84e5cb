// Package node is the meshhealth node: its configuration (flags,
// MESHHEALTH_* variables, an optional YAML file) and the composition of the
// packages into one fx application. cmd/node is a thin main around it; the
// in-process test mesh builds whole nodes through it on mocknet. Attach
// (attach.go) is the same composition as a public API: a go-libp2p
// application runs it on its own host, GossipSub and DHT, and the
// simulated mesh (testnet/sim) runs it on simulated hosts.
//
// The packages ship no fx modules; the node builds its parts with their
// plain constructors (app.go, mesh.go, election.go, meshview.go), because it
// wires each in a way a generic module could not: the shutdown manager
// exists before fx does, so a stop asked for during start-up is not lost;
// the libp2p node may be a test's mocknet host; one peer-liveness view is
// fed by every topic's validator and by the host's connections, and read by
// the probes, the election (to drop dead members from its quorum) and the
// mesh view; one awareness of this process's own stalls and starvation is
// read by the health manager, the liveness view and the probes; the
// election's validator is wrapped like the others, by the silence watch and
// the liveness view; and /health/mesh shares the health manager's cap on
// event streams. Each constructor registers the close of what it opened, so
// a failed build or start leaks nothing.
//
// Start and stop have one owner, fx's lifecycle: lifecycle.go appends each
// part's start and stop once, in start order, and fx stops them in reverse.
// The shutdown manager drives that stop (StartApp gives it app.Stop) and
// adds what fx lacks: the pre-shutdown phase, per-step timeouts, the
// reason, the exit code and their metrics.
//
// Decisions live in the packages it composes; this one only connects them.
package node
