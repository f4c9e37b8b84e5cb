// Package shutdown stops a meshhealth node gracefully: in phases
// (pre-shutdown, shutdown, post-shutdown, cleanup), each component's stop
// under its own timeout, the whole bounded by one total timeout, with the
// first reason and its exit code winning and being logged, exported and
// returned.
//
// The order of the components is not kept here. Each component gives its
// start and its stop to one lifecycle (the node's fx.Lifecycle), which
// starts them in order and stops them in reverse; the manager drives that
// stop (StopWith) after its pre-shutdown phase, and each stop, wrapped by
// Step, keeps to its timeout and is logged, reported and measured. The
// manager adds what fx lacks: the pre-shutdown phase, the reasons and exit
// codes, the total timeout, and the restart-loop guard.
//
// It also guards against restart loops: a health-triggered shutdown is
// recorded in the data directory, and after too many of them in a short
// window a further critical failure leaves the node up instead of exiting,
// so a supervisor that restarts on exit cannot spin it forever.
//
// The Manager satisfies health.CriticalHandler structurally. Every part of
// the node depends on it to stop, so it imports none of them, nor libp2p
// (docs/ARCHITECTURE.md's table, enforced by internal/importboss).
package shutdown
