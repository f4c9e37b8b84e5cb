// Package node is the meshhealth node: its configuration (flags,
// MESHHEALTH_* variables, an optional YAML file) and the composition of the
// packages into one fx application. cmd/node is a thin main around it; the
// in-process test mesh builds whole nodes through it on mocknet.
//
// The packages ship no fx modules; the node builds its parts with their
// plain constructors (app.go, mesh.go, election.go), because it wires each
// in a way a generic module could not: the shutdown manager exists before
// fx does, so a stop asked for during start-up is not lost; the libp2p node
// may be a test's mocknet host; the summary book and the probes share the
// topics and the liveness view (mesh.go); and the election's validator is
// wrapped by the silence watch.
//
// Start and stop have one owner, fx's lifecycle: lifecycle.go appends each
// part's start and stop once, in start order, and fx stops them in reverse.
// The shutdown manager drives that stop (StartApp gives it app.Stop) and
// adds what fx lacks: the pre-shutdown phase, per-step timeouts, the
// reason, the exit code and their metrics.
//
// Decisions live in the packages it composes; this one only connects them.
package node
