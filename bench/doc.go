// Package bench holds the benchmark harness behind make bench: the programs
// under cmd/ that measure real nodes (bin/meshhealth through the testnet
// library) against the benchmark's targets, and the generator of
// docs/BENCHMARKS.md from the JSON they write (internal/report, which holds
// the targets).
//
// Nothing here runs inside a node, and no node package may import bench.
// The harness sees nodes as an operator does (processes, /health, /metrics,
// /debug/fault), so it imports none of the node's own packages (node, p2p,
// pkg/...; the table in docs/ARCHITECTURE.md, enforced by
// internal/importboss); cmd/barehost is a bare go-libp2p host that imports
// only go-libp2p, GossipSub and the DHT.
package bench
