// Package procfs reads what the idle and scale benchmarks need of a process
// from Linux's /proc: CPU time, resident memory and the traffic of the
// network namespace it runs in. Parsing is separate from reading so the
// parsers are tested on fixed text.
package procfs
