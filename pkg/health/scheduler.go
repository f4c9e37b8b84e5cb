package health

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// abandonGrace is how long a checker may take to return after its context
// ends before it is abandoned. It lets a checker that honours its context
// report its own, more telling, failure ("0 of 3 acks") rather than a bare
// timeout.
const abandonGrace = 50 * time.Millisecond

// run is one execution of a checker.
type run struct {
	c        *checkState
	start    time.Time
	returned chan struct{} // closed when the checker returns
	finished atomic.Bool   // set by whoever records the run: the checker's return or its abandonment
}

// loop is the scheduler: it launches due checks and ticks. Its ticks are the
// liveness heartbeat and the local stall detector, so anything that delays
// this loop (a deadlock, CPU starvation, StallFor) shows up in both.
func (m *Manager) loop(ctx context.Context) {
	defer m.wg.Done()
	tick := time.NewTicker(m.cfg.TickPeriod)
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		m.beat(now)
		if next, ok := m.dispatch(ctx, now); ok {
			timer.Reset(max(next.Sub(now), 0))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-timer.C:
		case <-m.wake:
		case req := <-m.stallReq:
			m.stall(ctx, req)
		}
	}
}

// dispatch launches every due check and returns when the next one is due.
func (m *Manager) dispatch(ctx context.Context, now time.Time) (next time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return time.Time{}, false
	}
	for _, c := range m.checks {
		if c.def.Disabled {
			continue
		}
		if c.trigger.Swap(false) {
			if c.running {
				c.rerun = true
			} else {
				c.next = now
			}
		}
		if c.running {
			continue
		}
		if !c.next.After(now) {
			if c.stuck != nil {
				// Do not pile goroutines on a checker that is still stuck:
				// the check keeps failing until the stuck run returns.
				msg := fmt.Sprintf("previous run stuck for %s (abandoned after its %s timeout); not restarted",
					now.Sub(c.stuck.start).Round(time.Millisecond), c.def.Timeout)
				s := newSample(Result{Message: msg}, outcomeTimeout, now)
				s.synthetic = true
				// A run stuck because this process is starved is not the
				// check's failure either.
				m.recordLocked(c, m.lifeguard(s, c.stuck.start))
			} else {
				m.launchLocked(ctx, c, now)
				continue
			}
		}
		if !ok || c.next.Before(next) {
			next, ok = c.next, true
		}
	}
	return next, ok
}

func (m *Manager) launchLocked(ctx context.Context, c *checkState, now time.Time) {
	c.running, c.rerun = true, false
	r := &run{c: c, start: now, returned: make(chan struct{})}
	m.wg.Add(1)
	go m.execute(ctx, r)
}

// execute runs one checker under its timeout, in its own goroutine.
func (m *Manager) execute(parent context.Context, r *run) {
	c := r.c
	ctx, cancel := context.WithTimeout(parent, c.def.Timeout)
	stopWatch := context.AfterFunc(ctx, func() { m.watchRun(parent, r) })
	res, panicked, stack := callChecker(ctx, c.def.Checker)
	end := time.Now()
	close(r.returned)
	if !r.finished.CompareAndSwap(false, true) {
		// Abandoned earlier; its failure is already recorded.
		cancel()
		m.abandonedReturned(r, end)
		return
	}
	stopWatch()
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	if res.Latency == 0 {
		res.Latency = end.Sub(r.start)
	}
	outcome := outcomeSuccess
	switch {
	case panicked != nil:
		outcome = outcomePanic
		res = Result{
			Message: fmt.Sprintf("panic: %v", panicked),
			Err:     fmt.Errorf("check %s panicked: %v", c.def.Name, panicked),
			Latency: end.Sub(r.start),
		}
		m.log.Error("health check panicked", "check", c.def.Name, "panic", panicked, "stack", string(stack))
	case res.Healthy:
	case timedOut:
		outcome = outcomeTimeout
	default:
		outcome = outcomeFailure
	}
	m.complete(r, res, outcome, end)
}

// callChecker calls fn, turning a panic into a value.
func callChecker(ctx context.Context, fn Checker) (res Result, panicked any, stack []byte) {
	defer func() {
		if p := recover(); p != nil {
			panicked, stack = p, debug.Stack()
		}
	}()
	return fn(ctx), nil, nil
}

// watchRun runs when a run's context ends (timeout or Stop). A checker that
// has not returned within abandonGrace is abandoned: its run counts as a
// timeout now, and its goroutine is left to return whenever it does.
func (m *Manager) watchRun(parent context.Context, r *run) {
	t := time.NewTimer(abandonGrace)
	defer t.Stop()
	select {
	case <-r.returned:
		return
	case <-t.C:
	}
	if !r.finished.CompareAndSwap(false, true) {
		return
	}
	c := r.c
	now := time.Now()
	m.mu.Lock()
	c.running = false
	c.stuck = r
	if parent.Err() == nil && !m.stopped {
		m.log.Warn("health check ignored its timeout; abandoned", "check", c.def.Name, "timeout", c.def.Timeout)
		res := Result{
			Message: fmt.Sprintf("timed out after %s, abandoned", c.def.Timeout),
			Err:     fmt.Errorf("check %s: %w", c.def.Name, context.DeadlineExceeded),
			Latency: now.Sub(r.start),
		}
		m.recordLocked(c, m.lifeguard(newSample(res, outcomeTimeout, now), r.start))
	}
	m.mu.Unlock()
	m.wg.Done()
	m.poke()
}

// abandonedReturned frees a check whose abandoned run finally returned, so
// its next run may start.
func (m *Manager) abandonedReturned(r *run, end time.Time) {
	m.mu.Lock()
	if r.c.stuck == r {
		r.c.stuck = nil
	}
	m.mu.Unlock()
	m.log.Info("abandoned health check returned", "check", r.c.def.Name, "after", end.Sub(r.start).Round(time.Millisecond))
	m.poke()
}

// complete records a run that returned in time.
func (m *Manager) complete(r *run, res Result, outcome string, end time.Time) {
	m.mu.Lock()
	r.c.running = false
	if !m.stopped {
		s := newSample(res, outcome, end)
		if !s.Healthy {
			s = m.lifeguard(s, r.start)
			s = m.warmupLocked(r.c, s)
		}
		m.recordLocked(r.c, s)
	}
	m.mu.Unlock()
	m.wg.Done()
	m.poke()
}

// lifeguard marks a failed sample taken while this process was stalled: it
// is evidence about the local node, not about the mesh, so it does not count
// toward the failure threshold. Panics are bugs, not starvation, and stay.
func (m *Manager) lifeguard(s *sample, start time.Time) *sample {
	if s.outcome == outcomePanic || !m.stalledDuring(start, s.at) {
		return s
	}
	s.localStall = true
	s.outcome = outcomeLocalStall
	s.Message += " (local stall)"
	return s
}

// warmupLocked marks a failure of a check that has never passed, taken
// within the startup grace: a node's first probes run before its peers,
// topic subscriptions and routing table have arrived, and holding those
// failures against it would start every node "degraded" (the score) or
// confirm failures that only mean "not up yet" (as a Kubernetes
// startupProbe, which suspends the other probes until it first succeeds).
// After the grace, or once the check has passed, every failure counts.
func (m *Manager) warmupLocked(c *checkState, s *sample) *sample {
	if !s.localStall && m.started && !m.resumedAt.IsZero() && s.at.Before(m.resumedAt.Add(m.cfg.ResumeGrace)) {
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
	if s.localStall || c.passedOnce || !m.started {
		return s
	}
	base := m.startTime
	if c.registered.After(base) {
		base = c.registered
	}
	if !s.at.Before(base.Add(m.cfg.StartupGrace)) {
		return s
	}
	s.warmup = true
	s.outcome = outcomeWarmup
	s.Message += " (starting up: not counted)"
	return s
}

// recordLocked adds a sample to a check: history, debounce, score, next
// run, metrics, and a new snapshot.
func (m *Manager) recordLocked(c *checkState, s *sample) {
	s.inOutage = c.deb.State == StateFailing
	c.hist.add(s)
	c.histSnap = nil
	c.last = s
	c.runs++
	m.totalRuns++
	m.lastCheck = s.at
	m.metrics.observe(c.def.Name, s)
	if s.counted() {
		c.deb.observe(s.Healthy, c.def.FailureThreshold, c.def.SuccessThreshold)
	}
	if s.Healthy {
		c.passedOnce = true
	}
	c.score, c.pace = c.windowScore(m.cfg.Window, m.cfg.ScoreHorizon, s.at)

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
		c.next = s.at.Add(min(m.cfg.RetryInterval<<min(c.uncounted, 16), c.interval()))
		c.uncounted++
	case !s.Healthy && c.deb.State != StateFailing:
		// Confirm (or clear) a failure fast instead of waiting intervals.
		c.next = s.at.Add(m.cfg.RetryInterval)
	default:
		c.scheduledEvery = c.interval()
		c.next = s.at.Add(m.jitter(c.scheduledEvery))
	}
	m.log.Debug("health check result", "check", c.def.Name, "healthy", s.Healthy, "result", s.outcome,
		"message", s.Message, "latency", s.Latency, "state", c.deb.State, "consecutive_failures", c.deb.Fail)
	m.refreshLocked(s.at)
}

// jitter spreads an interval by up to Jitter of it either way.
func (m *Manager) jitter(d time.Duration) time.Duration {
	if m.cfg.Jitter == 0 {
		return d
	}
	f := 1 + m.cfg.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}
