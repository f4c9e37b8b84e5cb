// Package report renders docs/BENCHMARKS.md from the results directory:
// every figure comes from the JSON the harness wrote, next to the command
// that produced it, its target and whether the target is met. The targets
// are this package's constants, the one place they are stated. Where a
// target is missed the text reports the measured breakdown and points at
// docs/ARCHITECTURE.md for the rules behind it: the report never restates
// the node's design constants (timeouts, budgets, windows), which would
// drift silently when the node changes.
//
// It reads files only: it never starts a node or a testnet.
package report
