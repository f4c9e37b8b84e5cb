// Package recovery decides what a node does between a confirmed critical
// failure and its exit: when the evidence says the fault is its own (it
// has lost its links, it hears nothing), it tries to repair itself first,
// with bounded steps, cheapest first, re-running the failing checks after
// each, and exits only when the recovery budget is spent and they still
// fail (docs/ARCHITECTURE.md, "Recovery before exit").
//
// The decisions are a pure core (Core: failures, step ends, check results
// and ticks in, at explicit times; a Ready of what to do out), in the shape
// of pkg/election's machine. The Driver around it is the edge: the
// critical handler the health manager calls, the steps' goroutines and
// timeouts, the check re-runs, the metrics and the hand-off to the
// shutdown manager. The steps themselves (redial, mDNS, the DHT) are the
// node's: this package imports no libp2p and none of the node's parts.
package recovery
