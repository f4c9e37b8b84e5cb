// Package report renders docs/BENCHMARKS.md from the results directory:
// every figure comes from the JSON the harness wrote, next to the command
// that produced it, the target DESIGN.md sets for it and whether the
// target is met. Where a target is missed the text says why and what
// would close it; that prose is written here once, and the numbers in it
// are always the measured ones.
//
// It reads files only: it never starts a node or a testnet.
package report
