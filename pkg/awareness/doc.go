// Package awareness is this process's one account of its own health: when
// it was stalled (a tick of its ticker came late), paused (stalled for
// longer than PauseThreshold: SIGSTOP, a VM pause), or starved of CPU (the
// kernel says its threads waited in the run queue more than a quarter of
// the time), and how much to stretch its timeouts for it.
//
// Lifeguard's lesson (memberlist's awareness.go): a node that is itself
// struggling must not take its own slowness for its peers' failure. The
// health core, the liveness view, the silence watch and the adaptive
// timeouts all ask this one component, so a starved process discounts its
// evidence everywhere at once and the rule lives in one place.
//
// The decisions live in Core, a pure state machine fed with ticks and
// run-queue samples at explicit times: it reads no clock and does no I/O,
// so its rules are tested as tables. Awareness is the edge: the one ticker,
// the /proc sampler, the metrics and the logs.
//
// It imports nothing of ours but the shared internal/metrics, so any part
// may read it. What each package may import is the table in
// docs/ARCHITECTURE.md, enforced by internal/importboss.
package awareness
