package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

// Self is this process's awareness of its own stalls, pauses and
// starvation (pkg/awareness): the core asks it about the spans of its
// samples rather than timing anything itself. Its answers depend only on
// the times asked about and what it was fed, so the core stays
// deterministic under test (core_test.go feeds an awareness.Core).
type Self interface {
	StalledDuring(from, to time.Time) bool
	StarvedDuring(from, to time.Time) bool
	LastPause(now time.Time) time.Time
}

// core holds every health decision: debounce, scores, warm-up and resume
// grace, staleness, the local-stall discount (whose facts are the
// awareness'), the schedule of runs, the status, transitions and the
// critical hand-off. Like the election's
// machine (and raft's Step/Tick/Ready) it starts no goroutine, takes no
// lock, reads no clock and does no I/O: the Manager feeds it events with
// the time they happened and acts on what ready returns. That keeps every
// timing rule testable with plain tables (core_test.go), and leaves the
// Manager only the registry of names, the goroutines, HTTP, metrics and
// logs.
type core struct {
	cfg  Config
	rnd  *rand.Rand // jitter of the run intervals
	self Self

	checks []*checkState // sorted by name
	byName map[string]*checkState
	// weights are cfg.Weights plus the share of each component that only
	// registered checks bring (effectiveWeights), recomputed as checks
	// come and go.
	weights map[string]float64
	avail   availability
	gens    uint64 // registrations so far: each check's gen

	started    bool
	stopped    bool
	startTime  time.Time
	stopping   bool
	stopReason string
	suppressed bool // the hand-off was declined (restart loop): staying up unhealthy
	leader     string
	term       uint64
	keyMetrics map[string]json.RawMessage // replaced, never mutated: snapshots share it
	recovery   recoveryView               // replaced, never mutated: snapshots share it

	scoreLevel Status
	status     Status
	// unhealthyUntil is when the node last stopped being unhealthy; zero:
	// never was.
	unhealthyUntil time.Time
	transitions    []Transition // last maxTransitions, replaced, never mutated
	seq            uint64
	totalRuns      uint64
	lastCheck      time.Time

	lastTick  time.Time // the scheduler's last tick
	pauseFrom time.Time // start of the last pause of this process handled (resumed)
	resumedAt time.Time // end of this process's last pause: staleness counts from here
	deadline  time.Time // when a view next changes by time alone; zero: never

	out ready
}

// ready is what the core decided since the previous call of ready: what the
// Manager must publish, count, log, run or hand off.
type ready struct {
	snap       *Snapshot          // the snapshot to publish; nil: unchanged
	score      float64            // unrounded system score, for the gauge
	components map[string]float64 // unrounded component scores, for the gauges
	statusSet  bool               // the status changed (the gauge follows snap.Status)

	transitions []Transition // in Seq order
	results     []recorded   // samples recorded, for metrics and the debug log
	launch      []launch     // runs to start now
	wake        time.Time    // when the next run is due, as of the last tick; zero: none

	handOff     []string        // reasons of newly confirmed critical failures
	suppression []bool          // changes of the restart-loop suppression, in order
	resumed     bool            // this process was paused; every check re-runs
	stalls      []time.Duration // how late each late tick of the scheduler came
}

type recorded struct {
	check string
	s     *sample
	state State
	fails int
}

type launch struct {
	def   Check
	gen   uint64
	start time.Time
}

const maxTransitions = 100

func newCore(cfg Config, rnd *rand.Rand, self Self) *core {
	return &core{
		cfg:        cfg,
		rnd:        rnd,
		self:       self,
		byName:     map[string]*checkState{},
		weights:    maps.Clone(cfg.Weights),
		avail:      newAvailability(),
		scoreLevel: StatusHealthy,
		keyMetrics: map[string]json.RawMessage{},
	}
}

// ready returns what was decided since the last call and forgets it.
func (k *core) ready() ready {
	rd := k.out
	k.out = ready{}
	return rd
}

// running is between start and stop.
func (k *core) running() bool { return k.started && !k.stopped }

// register adds a check that already has its defaults and is valid.
func (k *core) register(def Check, now time.Time) error {
	if k.stopped {
		return errors.New("health manager stopped")
	}
	if _, dup := k.byName[def.Name]; dup {
		return errors.New("a check with this name is already registered")
	}
	k.gens++
	c := &checkState{def: def, gen: k.gens, registered: now, hist: newRing(k.cfg.History), next: now, effective: StateUnknown}
	c.deb.State = StateUnknown
	k.checks = append(k.checks, c)
	slices.SortFunc(k.checks, func(a, b *checkState) int { return strings.Compare(a.def.Name, b.def.Name) })
	k.byName[def.Name] = c
	k.reweigh()
	k.refresh(now)
	return nil
}

// unregister removes a check: from the next snapshot on it is in no
// view, score or status, and a run of it still under way is ignored when
// it returns (finished, abandoned and returned look it up by name and
// registration time).
func (k *core) unregister(name string, now time.Time) error {
	c, ok := k.byName[name]
	if !ok {
		return errors.New("no check with this name is registered")
	}
	delete(k.byName, name)
	k.checks = slices.DeleteFunc(k.checks, func(x *checkState) bool { return x == c })
	k.reweigh()
	k.refresh(now)
	return nil
}

// reweigh recomputes the weights from the configured ones and the
// components of the checks registered now.
func (k *core) reweigh() {
	comps := make([]string, 0, len(k.checks))
	for _, c := range k.checks {
		comps = append(comps, c.def.Component)
	}
	k.weights = effectiveWeights(k.cfg.Weights, comps)
}

// current is the registered check a run of name belongs to; nil when that
// check was unregistered since.
func (k *core) current(name string) *checkState { return k.byName[name] }

// isCurrent reports whether a run launched with gen belongs to the check
// registered as name now, not to one unregistered since (and maybe
// registered again under the same name, at the same instant).
func (k *core) isCurrent(name string, gen uint64) bool {
	c := k.byName[name]
	return c != nil && c.gen == gen
}

// start makes every check due at once and starts the clocks of the
// startup grace and of the scheduler's ticks.
func (k *core) start(now time.Time) error {
	switch {
	case k.stopped:
		return errors.New("already stopped")
	case k.started:
		return errors.New("already started")
	}
	k.started, k.startTime = true, now
	for _, c := range k.checks {
		c.next = now
	}
	k.lastTick = now
	// A pause before the start is not one to resume from.
	k.pauseFrom = k.self.LastPause(now)
	k.refresh(now)
	return nil
}

// stop ends the schedule: nothing is launched or recorded any more.
func (k *core) stop() { k.stopped = true }

func (k *core) setStopping(reason string, now time.Time) {
	if k.stopping {
		return // the first reason is kept
	}
	k.stopping, k.stopReason = true, reason
	k.refresh(now)
}

func (k *core) setLeader(peerID string, term uint64, now time.Time) {
	if k.leader == peerID && k.term == term {
		return
	}
	k.leader, k.term = peerID, term
	k.refresh(now)
}

func (k *core) setKeyMetric(name string, v json.RawMessage, now time.Time) {
	next := maps.Clone(k.keyMetrics)
	next[name] = v
	k.keyMetrics = next
	k.refresh(now)
}

// tick is the scheduler's heartbeat: it counts how late it came, takes
// the checks triggered since the last tick, and launches every due check.
// Whether this process was stalled is the awareness' call, not the
// scheduler's: a scheduler stalled alone (a deadlock, the stall fault) is
// not a reason to discount anything, but it is worth a metric.
func (k *core) tick(now time.Time, triggered []string) {
	prev := k.lastTick
	k.lastTick = now
	if late := now.Sub(prev) - k.cfg.TickPeriod; late > awareness.StallThreshold {
		k.out.stalls = append(k.out.stalls, late)
	}
	if k.stopped {
		return
	}
	for _, name := range triggered {
		if c := k.byName[name]; c != nil && !c.def.Disabled {
			c.trigger(now)
		}
	}
	var next time.Time
	for _, c := range k.checks {
		if c.def.Disabled || c.running {
			continue
		}
		if !c.next.After(now) {
			if c.stuckSince.IsZero() {
				c.running, c.rerun = true, false
				k.out.launch = append(k.out.launch, launch{def: c.def, gen: c.gen, start: now})
				continue
			}
			// Do not pile goroutines on a checker that is still stuck:
			// the check keeps failing until the stuck run returns.
			msg := fmt.Sprintf("previous run stuck for %s (abandoned after its %s timeout); not restarted",
				now.Sub(c.stuckSince).Round(time.Millisecond), c.def.Timeout)
			s := newSample(Result{Message: msg}, outcomeTimeout, now)
			s.synthetic = true
			// A run stuck because this process is starved is not the
			// check's failure either.
			k.record(c, k.lifeguard(s, c.stuckSince))
		}
		if next.IsZero() || c.next.Before(next) {
			next = c.next
		}
	}
	k.out.wake = next
}

// trigger asks for a run as soon as possible: now, or when the current
// run ends.
func (c *checkState) trigger(now time.Time) {
	if c.running {
		c.rerun = true
	} else {
		c.next = now
	}
}

// watch is the watchdog's tick. The watchdog ticks whatever the scheduler
// does, and it republishes when a result goes stale or the startup grace
// ends, so neither a stalled scheduler nor a hung check can leave an old
// passing result standing.
func (k *core) watch(now time.Time) {
	if k.paused(now) && !k.stopped {
		// The whole process was paused. Say so before judging anything
		// stale.
		k.resumed(now)
		k.refresh(now)
	}
	if !k.deadline.IsZero() && !now.Before(k.deadline) && !k.stopped {
		k.refresh(now)
	}
}

// finished records a run that returned in time.
func (k *core) finished(name string, start, end time.Time, res Result, outcome string) {
	c := k.current(name)
	if c == nil {
		return
	}
	c.running = false
	if k.stopped {
		return
	}
	s := newSample(res, outcome, end)
	s.started = start
	if !s.Healthy {
		s = k.lifeguard(s, start)
		s = k.warmup(c, s)
	}
	k.record(c, s)
}

// abandoned records a run whose checker ignored its timeout: a timeout
// now, and no new run until the stuck one returns. It reports whether it
// recorded (not after stop).
func (k *core) abandoned(name string, start, now time.Time) bool {
	c := k.current(name)
	if c == nil {
		return false
	}
	c.running = false
	// The two goroutines that report a run's abandonment and its return
	// race for the manager's lock: on a loaded machine the return can
	// come first, and the run must not then stay stuck for good.
	if !c.returnedRun.Equal(start) {
		c.stuckSince = start
	}
	if k.stopped {
		return false
	}
	res := Result{
		Message: fmt.Sprintf("timed out after %s, abandoned", c.def.Timeout),
		Err:     fmt.Errorf("check %s: %w", c.def.Name, context.DeadlineExceeded),
		Latency: now.Sub(start),
	}
	s := newSample(res, outcomeTimeout, now)
	s.started = start
	k.record(c, k.lifeguard(s, start))
	return true
}

// returned frees a check whose abandoned run (started at start) finally
// returned, whether or not its abandonment was recorded yet.
func (k *core) returned(name string, start time.Time) {
	c := k.current(name)
	if c == nil {
		return
	}
	c.returnedRun = start
	if c.stuckSince.Equal(start) {
		c.stuckSince = time.Time{}
	}
}

// declined is the hand-off's answer "not stopping" (the restart-loop
// guard): while a critical check still fails, the node stays up unhealthy
// and says why. It reports whether that began now.
func (k *core) declined(now time.Time) bool {
	for _, c := range k.checks {
		if c.def.Critical && !c.def.Disabled && c.effective == StateFailing {
			if k.suppressed {
				return false
			}
			k.suppressed = true
			k.out.suppression = append(k.out.suppression, true)
			k.refresh(now)
			return true
		}
	}
	return false
}

// paused reports whether the awareness has found a pause of this process
// (over, or going on at now) that the core has not resumed from yet:
// whoever refreshes first after it (a check that completed on waking, the
// watchdog) must not judge the results that aged meanwhile.
func (k *core) paused(now time.Time) bool {
	if !k.running() {
		return false
	}
	from := k.self.LastPause(now)
	return !from.IsZero() && !from.Equal(k.pauseFrom)
}

// resumed handles the end of a pause of this process (SIGSTOP, a VM pause,
// starvation): the results that went stale meanwhile are not a verdict.
// Every check runs again at once, staleness counts from now, and failures
// within ResumeGrace are not counted, so only fresh results judge the
// node. A check that stays silent after the pause still goes stale, one
// staleness period later.
func (k *core) resumed(now time.Time) {
	k.pauseFrom = k.self.LastPause(now)
	if !now.After(k.resumedAt) {
		return
	}
	k.resumedAt = now
	k.out.resumed = true
	for _, c := range k.checks {
		if !c.def.Disabled {
			c.trigger(now)
		}
	}
}

// stalledDuring reports whether this process was stalled, paused or
// starved during [start, end], or still is.
func (k *core) stalledDuring(start, end time.Time) bool { return k.self.StalledDuring(start, end) }

// starvedDuring reports whether this process was starved of CPU during
// [start, end], or still is: the run-queue sampler's verdict alone.
func (k *core) starvedDuring(start, end time.Time) bool { return k.self.StarvedDuring(start, end) }

// lifeguard marks a failed sample taken while this process was stalled: it
// is evidence about the local node, not about the mesh, so it does not count
// toward the failure threshold. Panics are bugs, not starvation, and stay.
func (k *core) lifeguard(s *sample, start time.Time) *sample {
	if s.outcome == outcomePanic || !k.stalledDuring(start, s.at) {
		return s
	}
	s.localStall = true
	s.outcome = outcomeLocalStall
	s.Message += " (local stall)"
	return s
}

// warmup marks a failure of a check that has never passed, taken within
// the startup grace: a node's first probes run before its peers, topic
// subscriptions and routing table have arrived, and holding those failures
// against it would start every node "degraded" (the score) or confirm
// failures that only mean "not up yet" (as a Kubernetes startupProbe,
// which suspends the other probes until it first succeeds). After the
// grace, or once the check has passed, every failure counts.
func (k *core) warmup(c *checkState, s *sample) *sample {
	if !s.localStall && k.started && !k.resumedAt.IsZero() && s.at.Before(k.resumedAt.Add(k.cfg.ResumeGrace)) {
		// Just back from a pause of this process: the connections, streams
		// and timers the pause broke are being rebuilt (peers may have
		// closed idle connections meanwhile), as at start-up. A failure now
		// is about the pause, not about the node; it is recorded and shown,
		// not counted. Fresh results after the grace judge as usual.
		s.warmup = true
		s.outcome = outcomeWarmup
		s.Message += " (resuming after a pause: not counted)"
		return s
	}
	if s.localStall || c.passedOnce || !k.started {
		return s
	}
	if !s.at.Before(k.graceBase(c).Add(k.cfg.StartupGrace)) {
		return s
	}
	s.warmup = true
	s.outcome = outcomeWarmup
	s.Message += " (starting up: not counted)"
	return s
}

// graceBase is when a check's startup grace began: at Start, or at its
// registration when it came later.
func (k *core) graceBase(c *checkState) time.Time {
	if c.registered.After(k.startTime) {
		return c.registered
	}
	return k.startTime
}

// record adds a sample to a check: history, debounce, score, next run, and
// a new snapshot.
func (k *core) record(c *checkState, s *sample) {
	// While a critical check is confirmed failing (the node unhealthy),
	// every check's results are the outage's too: a DHT probe that passes
	// alone, slowly, while the node is cut off, is not slowness to hold
	// against the node once it is back (a healed zone stayed degraded,
	// "checks slow", for the minute its window took to forget them).
	// So are the results of runs that started while the node was
	// unhealthy and returned after: a DHT probe started during a zone's
	// outage returns, slow, once the other checks pass again, and held the
	// healed zone degraded for the minute its window took to forget it.
	s.inOutage = c.deb.State == StateFailing || k.status == StatusUnhealthy ||
		(!s.started.IsZero() && !k.unhealthyUntil.IsZero() && !s.started.After(k.unhealthyUntil))
	c.hist.add(s)
	c.histSnap = nil
	c.last = s
	c.runs++
	k.totalRuns++
	k.lastCheck = s.at
	if s.counted() {
		c.deb.observe(s.Healthy, c.def.FailureThreshold, c.def.SuccessThreshold)
	}
	if s.Healthy {
		c.passedOnce = true
		c.lastSuccess = s.Timestamp
	} else {
		c.lastFailure = s.Timestamp
	}
	c.score, c.pace = c.windowScore(k.cfg.Window, k.cfg.ScoreHorizon, s.at)

	if !s.localStall {
		c.uncounted = 0
	}
	switch {
	case c.rerun:
		c.next, c.rerun = s.at, false
	case s.localStall:
		// A failure while this process is starved cannot be confirmed by
		// retrying fast, and retrying fast anyway fed the overload: fifty
		// starved nodes each probing twice a second. Back off from the
		// retry interval toward the check's interval. (Warm-up failures
		// keep the fast retry: a starting node's first pass makes it
		// ready.)
		c.next = s.at.Add(min(k.cfg.RetryInterval<<min(c.uncounted, 16), c.interval()))
		c.uncounted++
	case !s.Healthy && c.deb.State != StateFailing:
		// Confirm (or clear) a failure fast instead of waiting intervals.
		c.next = s.at.Add(k.cfg.RetryInterval)
	default:
		c.scheduledEvery = c.interval()
		c.next = s.at.Add(k.jitter(c.scheduledEvery))
	}
	k.out.results = append(k.out.results, recorded{check: c.def.Name, s: s, state: c.deb.State, fails: c.deb.Fail})
	k.refresh(s.at)
}

// jitter spreads an interval by up to Jitter of it either way.
func (k *core) jitter(d time.Duration) time.Duration {
	if k.cfg.Jitter == 0 {
		return d
	}
	f := 1 + k.cfg.Jitter*(2*k.rnd.Float64()-1)
	return time.Duration(float64(d) * f)
}

// view computes one check's view and its part in the status decision at
// now. deadline is when its view would next change by time alone (zero:
// never).
func (k *core) view(c *checkState, now time.Time) (v CheckView, e evalCheck, deadline time.Time) {
	d := c.def
	v = CheckView{Name: d.Name, Component: d.Component, Description: d.Description, Critical: d.Critical,
		State: StateUnknown, ConsecutiveFailures: c.deb.Fail, ConsecutiveSuccesses: c.deb.Succ,
		LastSuccess: c.lastSuccess, LastFailure: c.lastFailure}
	if d.Disabled {
		v.Disabled, v.Message = true, "disabled"
		return v, e, deadline
	}
	e = evalCheck{Name: d.Name, Component: d.Component, Critical: d.Critical}
	if s := c.last; s != nil {
		v.Healthy, v.Message, v.Details = s.Healthy, s.Message, s.details
		v.Latency, v.Timestamp, v.Error, v.LocalStall = s.Latency, s.Timestamp, s.errText, s.localStall
		v.State = c.deb.State
		e.Reason = s.Message
		ref := s.at
		if k.resumedAt.After(ref) {
			ref = k.resumedAt // a result does not age while this process is paused
		}
		if age, limit := now.Sub(ref), c.staleAfter(); age > limit && k.starvedDuring(now.Add(-c.interval()-d.Timeout), now) {
			// No result because this process gets too little CPU to run
			// the check (100 nodes on two cores), not because the check
			// hangs: it was starved within the span its last run should
			// have taken (an interval and a timeout). Degraded, never a
			// critical failure. Overload is not
			// a reason to die; a scheduler that stops ticking still fails
			// /health/live.
			v.Stale, v.Healthy, v.LocalStall = true, false, true
			v.Message = fmt.Sprintf("stale: no result for %s (limit %s) while this process is starved of CPU; last: %s",
				age.Round(time.Millisecond), limit, s.Message)
			e.Reason, e.Degraded = v.Message, true
			deadline = now.Add(awareness.SampleEvery) // judged again when the starvation may be over
		} else if age > limit {
			v.Stale, v.Healthy, v.State = true, false, StateFailing
			v.Message = fmt.Sprintf("stale: no result for %s (limit %s); last: %s",
				age.Round(time.Millisecond), limit, s.Message)
			e.Reason = v.Message
		} else {
			deadline = ref.Add(limit + time.Nanosecond)
			e.Degraded = s.Healthy && s.Degraded
			if s.warmup {
				// Only uncounted start-up failures so far: as good as no
				// result, so the node stays "starting" rather than scored.
				e.Missing = true
			}
		}
	} else {
		// A check registered after Start gets its own grace.
		graceEnd := k.graceBase(c).Add(k.cfg.StartupGrace)
		overdue := c.next.Add(d.Timeout + abandonGrace + k.cfg.TickPeriod)
		switch {
		case !k.started:
			v.Message, e.Missing = "not started", true
		case now.Before(graceEnd):
			v.Message, e.Missing = "no result yet", true
			deadline = graceEnd
		case c.running:
			// Its first run will end with a result by its timeout; only a
			// check the scheduler failed to run is overdue.
			v.Message, e.Missing = "first run in progress", true
		case now.Before(overdue):
			// Due, and the scheduler has had no time to run it yet.
			v.Message, e.Missing = "first run due", true
			deadline = overdue
		default:
			v.State = StateFailing
			v.Message = fmt.Sprintf("no result within the startup grace (%s)", k.cfg.StartupGrace)
			e.Reason = v.Message
		}
	}
	e.Failing = v.State == StateFailing
	if !e.Failing && !e.Missing {
		v.Score = c.score
		e.Pace = c.pace
	}
	e.Score = v.Score
	v.Score = round4(v.Score)
	return v, e, deadline
}

// refresh recomputes the snapshot at now and notes what changed:
// transitions, critical failures to hand off, the next deadline.
func (k *core) refresh(now time.Time) {
	if k.paused(now) {
		k.resumed(now)
	}
	views := make(map[string]CheckView, len(k.checks))
	evals := make([]evalCheck, 0, len(k.checks))
	history := make(map[string][]*sample, len(k.checks))
	var next time.Time
	for _, c := range k.checks {
		v, e, deadline := k.view(c, now)
		views[c.def.Name] = v
		if c.histSnap == nil {
			c.histSnap = c.hist.slice()
		}
		history[c.def.Name] = c.histSnap
		if !c.def.Disabled {
			evals = append(evals, e)
		}
		if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
			next = deadline
		}
		if v.State != c.effective {
			k.transition(Transition{Time: now, Kind: "check", Check: c.def.Name,
				From: string(c.effective), To: string(v.State), Cause: v.Message})
			c.effective = v.State
		}
	}
	pastGrace := k.started && now.Sub(k.startTime) >= k.cfg.StartupGrace
	if k.started && !pastGrace {
		if end := k.startTime.Add(k.cfg.StartupGrace); next.IsZero() || end.Before(next) {
			next = end
		}
	}
	k.handOff(views, pastGrace)

	in := evalInput{
		Checks:            evals,
		Weights:           k.weights,
		HealthyThreshold:  k.cfg.HealthyThreshold,
		DegradedThreshold: k.cfg.DegradedThreshold,
		Hysteresis:        k.cfg.Hysteresis,
		PrevScoreLevel:    k.scoreLevel,
		Stopping:          k.stopping,
		StopReason:        k.stopReason,
		Started:           k.started,
		InGrace:           !pastGrace,
		Suppressed:        k.suppressed,
	}
	out := evaluate(in)
	k.scoreLevel = out.ScoreLevel
	avail := k.avail.record(now, out.Status, evals)
	if out.Status != k.status {
		from := k.status
		if from == "" {
			from = StatusStarting
		}
		if from != out.Status {
			k.transition(Transition{Time: now, Kind: "status", From: string(from), To: string(out.Status), Cause: out.Message})
		}
		if k.status == StatusUnhealthy {
			k.unhealthyUntil = now
		}
		k.status = out.Status
		k.out.statusSet = true
	}

	snap := &Snapshot{
		Status:             out.Status,
		Message:            out.Message,
		Score:              round4(out.Score),
		Checks:             views,
		Components:         roundAll(out.Components),
		StartTime:          k.startTime,
		LastUpdate:         now,
		Version:            k.cfg.Version,
		NodeID:             k.cfg.NodeID,
		Leader:             k.leader,
		Term:               k.term,
		LastCheck:          k.lastCheck,
		TotalChecks:        k.totalRuns,
		KeyMetrics:         k.keyMetrics,
		Recovery:           k.recovery.all,
		recoveries:         k.recovery.byCheck,
		Transitions:        k.transitions,
		ShutdownSuppressed: k.suppressed,
		Availability:       avail,
		eval:               in,
		scoreLevel:         out.ScoreLevel,
		history:            history,
	}
	if k.started {
		snap.Uptime = now.Sub(k.startTime)
	}
	snap.render()
	k.out.snap, k.out.score, k.out.components = snap, out.Score, out.Components
	k.deadline = next
}

// handOff decides which critical failures go to the CriticalHandler: each
// newly confirmed one, once per failing episode, once the startup grace is
// over, and not while stopping.
func (k *core) handOff(views map[string]CheckView, pastGrace bool) {
	anyFailing := false
	for _, c := range k.checks {
		if !c.def.Critical || c.def.Disabled {
			continue
		}
		if c.effective != StateFailing {
			c.criticalHandled = false // the episode is over
			continue
		}
		anyFailing = true
		if c.criticalHandled || !pastGrace || !k.cfg.ShutdownOnCritical || k.stopping {
			continue
		}
		c.criticalHandled = true
		k.out.handOff = append(k.out.handOff, fmt.Sprintf("critical check %s: %s", c.def.Name, views[c.def.Name].Message))
	}
	if !anyFailing && k.suppressed {
		k.suppressed = false
		k.out.suppression = append(k.out.suppression, false)
	}
}

// transition numbers and keeps one transition and passes it on.
func (k *core) transition(t Transition) {
	k.seq++
	t.Seq = k.seq
	n := min(len(k.transitions)+1, maxTransitions)
	next := make([]Transition, 0, n)
	next = append(next, k.transitions[len(k.transitions)+1-n:]...)
	k.transitions = append(next, t)
	k.out.transitions = append(k.out.transitions, t)
}
