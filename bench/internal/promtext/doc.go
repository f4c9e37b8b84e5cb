// Package promtext reads sample values out of a Prometheus text exposition:
// just enough for the benchmarks to sum a node's counters without a
// scraping stack.
package promtext
