// Package testnet runs many meshhealth nodes on one machine as a LAN, breaks
// them on purpose and reports what the health system saw. It is the library
// behind bin/testnet.
//
// Two modes: local (processes on 127.0.0.1 with distinct ports, mDNS off,
// bootstrapped from node 0; no privileges) and netns (one network namespace
// per node on a private bridge, found by mDNS as on a real LAN; a partition is
// a link taken down). Everything a later command needs is kept in
// <dir>/state.json, because the nodes outlive the command that started them:
// status, chaos, scenario and down find them there.
//
// The testnet sees a node only as an operator does: a process, its log, and
// its HTTP endpoints. It imports none of the node's own packages (node, p2p,
// pkg/...; the table in docs/ARCHITECTURE.md, enforced by
// internal/importboss), so it tests the shipped binary and its documented
// contract, not in-process shortcuts.
package testnet
