// Package loadtest drives HTTP load at one URL and reports throughput and
// latency percentiles: through wrk (a real, separate load generator) when it
// is installed, otherwise through a closed-loop Go client of the same shape
// (fixed connections, each sending its next request when the last one is
// answered). Both count responses other than 2xx apart from errors, since a
// node that is not ready answers 503 on purpose.
package loadtest
