// Package shutdown stops a meshhealth node gracefully: in phases
// (pre-shutdown, shutdown, post-shutdown, cleanup), components in priority
// order each under its own timeout, the whole bounded by one total timeout,
// with the first reason and its exit code winning and being logged, exported
// and returned.
//
// fx's lifecycle starts the node's parts; this manager alone stops them, so
// there is one stop path and no stop function runs twice.
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
