// Package health is the node's health manager: the registry of checks, the
// scheduler that runs them (with timeouts, jitter, retries and panic
// isolation), the debounce that turns raw results into effective states, the
// scores and the overall status, the hand-off of a confirmed critical failure
// to the shutdown manager, the /health* HTTP endpoints and the health metrics.
//
// The manager publishes an immutable Snapshot through an atomic pointer each
// time a result arrives (or a result goes stale); HTTP handlers and listeners
// read that snapshot and never run, or wait for, a check. A hung checker, a
// stalled scheduler or a slow client cannot make an endpoint hang or leave an
// old passing result standing.
//
// The decisions (debounce, scores, graces, staleness, the status, the
// critical hand-off) are a pure core fed with events and their times, so
// their rules are tested as tables; the manager around it keeps the
// goroutines, the clock and the I/O, and is tested end to end with
// testing/synctest rather than with sleeps.
//
// It imports no libp2p and, of the node's packages, only the shared
// leaves: the vocabulary pkg/status (its Status is that package's), the
// event-stream writer internal/sse, shared with /health/mesh/events, and
// pkg/awareness, which says when this process itself was stalled or
// starved. The probes in pkg/probes bring the network; this package only
// judges results. What each
// package may import is the table in docs/ARCHITECTURE.md, enforced by
// internal/importboss.
package health
