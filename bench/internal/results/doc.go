// Package results is the JSON every benchmark section writes and the report
// reads: one file per section in the results directory, holding raw
// per-repetition measurements (never pre-computed summaries, so the report
// derives every median from the same data), the exact command that
// produced them and the load of the machine while they were taken.
//
// It imports neither the testnet nor any node package (enforced by
// internal/importboss): the report reads these files without starting
// anything.
package results
