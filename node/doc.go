// Package node is the meshhealth node: its configuration (flags,
// MESHHEALTH_* variables, an optional YAML file) and the composition of the
// packages into one fx application. cmd/node is a thin main around it; the
// in-process test mesh builds whole nodes through it on mocknet.
//
// Only pkg/health ships an fx.Module; the node builds its other parts with
// their plain constructors (app.go, mesh.go, election.go), because it wires
// each in a way a generic module could not: the shutdown manager exists
// before fx does, so a failed start can still stop what had started; the
// libp2p node may be a test's mocknet host; the summary book and the probes
// share the topics, the liveness view and the message budget (mesh.go); and
// the election's validator is wrapped by the silence watch. fx starts the
// parts in Invoke order; the shutdown manager alone stops them.
//
// Decisions live in the packages it composes; this one only connects them.
package node
