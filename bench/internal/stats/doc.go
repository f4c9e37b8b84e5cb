// Package stats summarises repeated measurements: median and spread (min,
// max), and percentiles of a sample. It must stay free of I/O and of any
// other bench package, so the report and every harness share one definition
// of "median".
package stats
