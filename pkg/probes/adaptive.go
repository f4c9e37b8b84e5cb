package probes

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// Adaptive timeout: as memberlist sets its LAN ProbeTimeout to the network's
// 99th-percentile round-trip, a network probe waits clamp(4 x p99 of its
// recent successes, floor, ceiling). A healthy LAN then confirms a failure
// in about three half-second attempts instead of three full timeouts, and a
// loaded machine, whose slow successes raise the p99, stretches the wait by
// itself instead of raising false alarms.
const (
	// AdaptiveFloor is the shortest wait: below it, scheduling noise on a
	// busy host would be read as a network fault.
	AdaptiveFloor = 500 * time.Millisecond
	// adaptiveFactor is the head-room over the p99.
	adaptiveFactor = 4
	// adaptiveWindow is how many recent successes are kept: enough for a
	// p99 that forgets a burst of load within a few minutes of probing.
	adaptiveWindow = 32
	// adaptiveMinSamples successes are needed before the window is trusted;
	// until then the probe waits the full ceiling.
	adaptiveMinSamples = 3
)

// Aware is this process's awareness of its own stalls and starvation
// (pkg/awareness): what the probes saw while it struggled is evidence
// about this machine, not about the mesh.
type Aware interface {
	// StalledDuring reports whether this process was stalled, paused or
	// starved in [from, to], or still is at to.
	StalledDuring(from, to time.Time) bool
	// Scale is how many times longer than usual a timeout should be now,
	// from 1 (Lifeguard's local health multiplier).
	Scale() int
}

// Adaptive keeps a probe's recent success latencies and derives its wait.
// Safe for concurrent use.
type Adaptive struct {
	floor, ceiling time.Duration
	aware          Aware // nil: never stretched for this process's struggles

	mu      sync.Mutex
	samples []time.Duration // ring of the last adaptiveWindow successes
	next    int
	fails   int // consecutive failures since the last success
}

// NewAdaptive returns a timeout between floor and ceiling (the check's
// configured timeout). A ceiling below the floor wins. aware (nil: none)
// stretches the wait while this process struggles.
func NewAdaptive(floor, ceiling time.Duration, aware Aware) *Adaptive {
	return &Adaptive{floor: floor, ceiling: ceiling, aware: aware}
}

// Observe records the latency of a successful probe. Failures are not
// recorded as latencies: a timeout says nothing about how long an answer
// takes (see Fail).
func (a *Adaptive) Observe(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fails = 0
	if len(a.samples) < adaptiveWindow {
		a.samples = append(a.samples, d)
		return
	}
	a.samples[a.next] = d
	a.next = (a.next + 1) % adaptiveWindow
}

// Fail records a failed probe that looked slow rather than silent (see
// Bound): each such consecutive failure doubles the next wait, up to the
// ceiling. A mesh that has turned slow (a starved peer, a loaded machine)
// then gets the time to answer before a failure is confirmed, as
// memberlist's awareness stretches its probe timeouts, instead of three
// quick retries all timing out at the floor: measured at load 7 on two
// cores, that confirmed a healthy node's pubsub failure.
func (a *Adaptive) Fail() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fails++
}

// Bound runs one probe under the adaptive wait: it shows the wait on gauge,
// gives the probe a context with that deadline, and on a failed result asks
// stretch (nil: always) whether the failure looked like a slow mesh, in
// which case the next wait is stretched (Fail). The probe records its own
// successes (Observe), since only it knows which latency to learn.
func (a *Adaptive) Bound(ctx context.Context, gauge prometheus.Gauge, stretch func(start time.Time) bool,
	probe func(ctx context.Context, wait time.Duration) health.Result) health.Result {
	start := time.Now()
	wait := a.Timeout()
	gauge.Set(wait.Seconds())
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	r := probe(ctx, wait)
	if !r.Healthy && (stretch == nil || stretch(start)) {
		a.Fail()
	}
	return r
}

// Timeout is how long the next probe waits for its answer. While this
// process struggles (stalled or starved lately) the wait stretches by the
// awareness' scale, as Lifeguard stretches its probe timeouts: an answer
// that is late because this process runs slowly is not the mesh's
// failure. Never beyond the ceiling, which the health manager enforces on
// the whole run anyway.
func (a *Adaptive) Timeout() time.Duration {
	a.mu.Lock()
	s := slices.Clone(a.samples)
	fails := a.fails
	a.mu.Unlock()
	d := adaptiveTimeout(s, a.floor, a.ceiling)
	for range min(fails, 8) {
		d = min(2*d, a.ceiling)
	}
	if a.aware != nil {
		if scale := a.aware.Scale(); scale > 1 {
			d = min(d*time.Duration(scale), a.ceiling)
		}
	}
	return d
}

// adaptiveTimeout is clamp(4 x p99(samples), floor, ceiling), or ceiling
// while there are fewer than adaptiveMinSamples samples.
func adaptiveTimeout(samples []time.Duration, floor, ceiling time.Duration) time.Duration {
	if len(samples) < adaptiveMinSamples {
		return ceiling
	}
	d := adaptiveFactor * p99(samples)
	if d < floor {
		d = floor
	}
	if d > ceiling {
		d = ceiling
	}
	return d
}

// p99 by nearest rank; with fewer than 100 samples it is the maximum, which
// is the cautious choice for a timeout.
func p99(samples []time.Duration) time.Duration {
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(0.99*float64(len(s)))) - 1
	return s[max(rank, 0)]
}
