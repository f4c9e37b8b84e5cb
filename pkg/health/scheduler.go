package health

import (
	"context"
	"errors"
	"fmt"
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
	def      Check
	gen      uint64 // the registration it is a run of
	start    time.Time
	returned chan struct{} // closed when the checker returns
	finished atomic.Bool   // set by whoever records the run: the checker's return or its abandonment
}

// loop is the scheduler: it ticks the core and launches the runs the core
// says are due. Its ticks are the liveness heartbeat, so anything that
// delays this loop (a deadlock, CPU starvation, StallFor) fails
// /health/live; whether this process was stalled is the awareness' call.
func (m *Manager) loop(ctx context.Context) {
	defer m.wg.Done()
	tick := time.NewTicker(m.cfg.TickPeriod)
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		m.lastTick.Store(m.mono(now))
		m.mu.Lock()
		m.core.tick(now, m.triggered())
		rd := m.applyLocked()
		for _, l := range rd.launch {
			m.wg.Add(1)
			go m.execute(ctx, &run{def: l.def, gen: l.gen, start: l.start, returned: make(chan struct{})})
		}
		m.mu.Unlock()
		if !rd.wake.IsZero() {
			timer.Reset(max(rd.wake.Sub(now), 0))
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

// execute runs one checker under its timeout, in its own goroutine.
func (m *Manager) execute(parent context.Context, r *run) {
	def := r.def
	ctx, cancel := context.WithTimeout(parent, def.Timeout)
	stopWatch := context.AfterFunc(ctx, func() { m.watchRun(r) })
	res, panicked, stack := callChecker(ctx, def.Checker)
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
			Err:     fmt.Errorf("check %s panicked: %v", def.Name, panicked),
			Latency: end.Sub(r.start),
		}
		m.log.Error("health check panicked", "check", def.Name, "panic", panicked, "stack", string(stack))
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
func (m *Manager) watchRun(r *run) {
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
	m.mu.Lock()
	if m.core.isCurrent(r.def.Name, r.gen) && m.core.abandoned(r.def.Name, r.start, time.Now()) {
		m.log.Warn("health check ignored its timeout; abandoned", "check", r.def.Name, "timeout", r.def.Timeout)
	}
	m.applyLocked()
	m.mu.Unlock()
	m.wg.Done()
	m.poke()
}

// abandonedReturned frees a check whose abandoned run finally returned, so
// its next run may start.
func (m *Manager) abandonedReturned(r *run, end time.Time) {
	m.mu.Lock()
	if m.core.isCurrent(r.def.Name, r.gen) {
		m.core.returned(r.def.Name, r.start)
	}
	m.mu.Unlock()
	m.log.Info("abandoned health check returned", "check", r.def.Name, "after", end.Sub(r.start).Round(time.Millisecond))
	m.poke()
}

// complete records a run that returned in time.
func (m *Manager) complete(r *run, res Result, outcome string, end time.Time) {
	m.mu.Lock()
	if m.core.isCurrent(r.def.Name, r.gen) {
		m.core.finished(r.def.Name, r.start, end, res, outcome)
	}
	m.applyLocked()
	m.mu.Unlock()
	m.wg.Done()
	m.poke()
}
