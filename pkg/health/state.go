package health

import (
	"encoding/json"
	"time"
)

// Outcomes of one run, the "result" label of meshhealth_checks_total.
const (
	outcomeSuccess    = "success"
	outcomeFailure    = "failure"
	outcomeTimeout    = "timeout"     // ran out of time, was abandoned, or an abandoned run is still stuck
	outcomePanic      = "panic"       // the checker panicked
	outcomeLocalStall = "local_stall" // failed while this process was stalled: not held against the check
	outcomeWarmup     = "warmup"      // failed before the check ever passed, within the startup grace: not held against it
)

var outcomes = []string{outcomeSuccess, outcomeFailure, outcomeTimeout, outcomePanic, outcomeLocalStall, outcomeWarmup}

// sample is one recorded result. It is immutable once recorded, so
// snapshots share it without copying.
type sample struct {
	Result
	outcome    string
	at         time.Time // when the manager recorded it; staleness counts from here
	localStall bool
	warmup     bool
	// inOutage: taken while the check was already confirmed failing, or
	// while the node was unhealthy. Such samples prove the outage the state
	// already reports (score 0 while failing); once it is over they leave
	// the success rate and the pace, which measure flakiness and slowness
	// while up, not the last outage.
	inOutage  bool
	started   time.Time       // when its run started; zero for a sample that is not a run's
	synthetic bool            // not a run: the previous run is still stuck
	details   json.RawMessage // Details, encoded once at record time
	errText   string
}

// counted reports whether the sample is evidence about the check: samples
// taken while this process was stalled, or while the node was still coming
// up, are recorded and shown but neither confirm a failure nor lower the
// score.
func (s *sample) counted() bool { return !s.localStall && !s.warmup }

func newSample(r Result, outcome string, at time.Time) *sample {
	s := &sample{Result: r, outcome: outcome, at: at}
	if s.Timestamp.IsZero() {
		s.Timestamp = at
	}
	if s.Err != nil {
		s.errText = s.Err.Error()
	}
	if s.Message == "" {
		switch {
		case s.errText != "":
			s.Message = s.errText
		case s.Healthy:
			s.Message = "ok"
		default:
			s.Message = "failed"
		}
	}
	if len(s.Details) > 0 {
		b, err := json.Marshal(s.Details)
		if err != nil {
			// A detail JSON cannot carry (NaN, a channel) must not break
			// every /health response from now on.
			b, _ = json.Marshal(map[string]string{"encoding_error": err.Error()})
		}
		s.details = b
	}
	return s
}

func (s *sample) view() ResultView {
	return ResultView{
		Healthy:    s.Healthy,
		Message:    s.Message,
		Details:    s.details,
		Latency:    s.Latency,
		Timestamp:  s.Timestamp,
		Error:      s.errText,
		Result:     s.outcome,
		LocalStall: s.localStall,
	}
}

// debouncer turns raw results into an effective state: failing only after
// failT consecutive failures, passing again after succT consecutive
// successes. From unknown, the first success is enough.
type debouncer struct {
	State State
	Fail  int // consecutive failures
	Succ  int // consecutive successes
}

// observe feeds one counted result and reports whether the state changed.
func (d *debouncer) observe(ok bool, failT, succT int) bool {
	prev := d.State
	if ok {
		d.Succ++
		d.Fail = 0
		if d.State == StateUnknown || (d.State == StateFailing && d.Succ >= succT) {
			d.State = StatePassing
		}
	} else {
		d.Fail++
		d.Succ = 0
		if d.State != StateFailing && d.Fail >= failT {
			d.State = StateFailing
		}
	}
	return d.State != prev
}

// ring is a bounded history, oldest overwritten first.
type ring struct {
	buf  []*sample
	head int // next slot to write
	n    int
}

func newRing(size int) ring { return ring{buf: make([]*sample, size)} }

func (r *ring) add(s *sample) {
	r.buf[r.head] = s
	r.head = (r.head + 1) % len(r.buf)
	if r.n < len(r.buf) {
		r.n++
	}
}

// each calls fn from newest to oldest until fn returns false.
func (r *ring) each(fn func(*sample) bool) {
	for i := 0; i < r.n; i++ {
		idx := (r.head - 1 - i + len(r.buf)) % len(r.buf)
		if !fn(r.buf[idx]) {
			return
		}
	}
}

// slice returns the samples oldest first, in a new slice.
func (r *ring) slice() []*sample {
	out := make([]*sample, r.n)
	i := r.n
	r.each(func(s *sample) bool {
		i--
		out[i] = s
		return true
	})
	return out
}

// checkState is the core's record of one registered check.
type checkState struct {
	def        Check
	gen        uint64 // which registration: a run of an earlier one is ignored
	registered time.Time
	passedOnce bool // has passed at least once: warm-up is over for it
	// The results' own times of the last pass and the last failure, kept
	// beyond the history's reach.
	lastSuccess, lastFailure time.Time

	hist      ring
	histSnap  []*sample // cached hist.slice() for snapshots; nil after a new sample
	last      *sample
	deb       debouncer
	score     float64 // window score, before the "0 while failing" rule
	pace      float64 // the window's latency factor alone: what the status rule judges
	effective State   // last published effective state, for transitions
	runs      uint64

	next           time.Time     // when the next run is due
	scheduledEvery time.Duration // the interval next was scheduled with
	running        bool
	rerun          bool // triggered while running: run again as soon as it ends
	// uncounted is the streak of failures taken while this process was
	// starved: each doubles the wait before the next run.
	uncounted   uint
	stuckSince  time.Time // start of an abandoned run that has not returned yet; zero: none
	returnedRun time.Time // start of the last abandoned run that returned

	criticalHandled bool // the hand-off ran for the current failing episode
}

// windowScore scores the last window counted results (local-stall samples
// are not evidence about the check, so they are skipped) that are younger
// than horizon (0: no age limit).
func (c *checkState) windowScore(window int, horizon time.Duration, now time.Time) (score, pace float64) {
	var buf [64]scoreSample
	win := buf[:0]
	c.hist.each(func(s *sample) bool {
		if horizon > 0 && now.Sub(s.at) > horizon {
			return false
		}
		if !s.counted() || s.inOutage {
			return true
		}
		win = append(win, scoreSample{OK: s.Healthy, Latency: s.Latency})
		return len(win) < window
	})
	var lat []time.Duration
	for _, s := range win {
		if s.OK {
			lat = append(lat, s.Latency)
		}
	}
	pace = 1
	if len(lat) > 0 {
		pace = latencyFactor(median(lat), c.def.LatencySLO)
	}
	return checkScore(win, c.def.LatencySLO, window), pace
}

// staleAfter is how old a result may be before it counts as failing: two
// missed intervals plus the time one run may take.
func (c *checkState) staleAfter() time.Duration {
	// The interval the last run was scheduled with counts too: a budget
	// that shrinks (members left) must not make a result stale before its
	// scheduled successor is even due.
	return 2*max(c.interval(), c.scheduledEvery) + c.def.Timeout
}

// interval is the check's current interval: Interval, or what Every says
// when that is longer.
func (c *checkState) interval() time.Duration {
	if c.def.Every == nil {
		return c.def.Interval
	}
	return max(c.def.Interval, c.def.Every())
}
