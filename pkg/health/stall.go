package health

import (
	"context"
	"log/slog"
	"time"
)

// window is a span (mono ns) during which the scheduler was late, or the
// process starved of CPU.
type window struct {
	from, to int64
	starved  bool // found by the run-queue sampler rather than a late tick
}

const maxStallWindows = 16

type stallRequest struct {
	d       time.Duration
	release chan struct{}
}

// beat is the scheduler's heartbeat. A beat that comes more than
// LocalStallThreshold later than the tick period allows means this process
// was not running (a stall, starvation, a long GC pause): the span is kept so
// that failures observed during it are not blamed on the mesh.
func (m *Manager) beat(now time.Time) {
	cur := m.mono(now)
	prev := m.lastTick.Swap(cur)
	late := time.Duration(cur-prev) - m.cfg.TickPeriod
	if from, starved := m.starve.sample(now); starved {
		// Partly starved: the loop ticks, but slowly running probes time
		// out. Their failures are the machine's, not the mesh's.
		m.addStallWindow(window{from: m.mono(from), to: cur, starved: true})
		m.metrics.starved.Add(now.Sub(from).Seconds())
	}
	if late <= m.cfg.LocalStallThreshold {
		return
	}
	m.addStallWindow(window{from: prev, to: cur})
	m.metrics.stalls.Inc()
	lvl := slog.LevelDebug // starvation comes in bursts: the metric counts them
	if late > m.cfg.PauseThreshold {
		lvl = slog.LevelWarn
	}
	m.log.Log(context.Background(), lvl, "scheduler was stalled (local stall)", "late_by", late.Round(time.Millisecond))
	// A pause of the whole process is also seen by the watchdog, which
	// ticks whatever the scheduler does (pausedLocked); a stall of the
	// scheduler alone (a deadlock, the stall fault) is not a pause.
}

// resumedLocked handles the end of a pause of this process (SIGSTOP, a VM
// pause, starvation): the results that went stale meanwhile are not a
// verdict. Every check runs again at once, staleness counts from now, and
// failures within ResumeGrace are not counted, so only fresh results judge
// the node. A check that stays silent after the pause still goes stale,
// one staleness period later.
func (m *Manager) resumedLocked(now time.Time) {
	if !now.After(m.resumedAt) {
		return
	}
	m.resumedAt = now
	m.log.Info("this process was paused: re-running every check; stale results are not judged")
	for _, c := range m.checks {
		if !c.def.Disabled {
			c.trigger.Store(true)
		}
	}
	m.poke()
}

// pausedLocked reports whether the watchdog, which ticks whatever the
// scheduler does, has missed its ticks up to now: the whole process was
// paused, and whoever refreshes first (a check that completed on waking)
// must not judge the results that aged meanwhile.
func (m *Manager) pausedLocked(now time.Time) bool {
	lw := m.lastWatch.Load()
	return m.running.Load() && lw != 0 && time.Duration(m.mono(now)-lw)-m.cfg.TickPeriod > m.cfg.PauseThreshold
}

func (m *Manager) addStallWindow(w window) {
	m.stallMu.Lock()
	defer m.stallMu.Unlock()
	if n := len(m.stallWins); n > 0 && m.stallWins[n-1].to >= w.from {
		// Contiguous starvation: one window, so a long overload does not
		// push older windows out.
		m.stallWins[n-1].to = max(m.stallWins[n-1].to, w.to)
		m.stallWins[n-1].starved = m.stallWins[n-1].starved || w.starved
		return
	}
	m.stallWins = append(m.stallWins, w)
	if len(m.stallWins) > maxStallWindows {
		m.stallWins = m.stallWins[len(m.stallWins)-maxStallWindows:]
	}
}

// stalledDuring reports whether the scheduler was, or still is, late during
// [start, end].
func (m *Manager) stalledDuring(start, end time.Time) bool {
	s, e := m.mono(start), m.mono(end)
	if m.running.Load() && time.Duration(e-m.lastTick.Load())-m.cfg.TickPeriod > m.cfg.LocalStallThreshold {
		return true // a stall in progress: the loop has not ticked since
	}
	m.stallMu.Lock()
	defer m.stallMu.Unlock()
	for _, w := range m.stallWins {
		if w.from < e && w.to > s {
			return true
		}
	}
	// Starvation is sampled once a second, after the fact: if the last
	// sample found it and that was under two samples ago, it is still
	// going on, and a failure now belongs to it too.
	if n := len(m.stallWins); n > 0 && m.stallWins[n-1].starved && time.Duration(e-m.stallWins[n-1].to) < 2*starveEvery {
		return true
	}
	return false
}

// StallFor blocks the scheduler loop for d: the "scheduler stall" fault.
// Checks are not launched and ticks stop, so /health/live turns 503 after 3
// tick periods and results go stale. StallFor(0) releases a stall at once.
// It never blocks the caller.
func (m *Manager) StallFor(d time.Duration) {
	m.stallMu.Lock()
	defer m.stallMu.Unlock()
	if m.stallRelease != nil {
		close(m.stallRelease)
		m.stallRelease = nil
	}
	select { // drop a request the loop has not picked up yet
	case <-m.stallReq:
	default:
	}
	if d <= 0 {
		return
	}
	rel := make(chan struct{})
	m.stallRelease = rel
	m.stallReq <- stallRequest{d: d, release: rel}
}

// stall is the loop's side of StallFor.
func (m *Manager) stall(ctx context.Context, req stallRequest) {
	m.log.Warn("scheduler stalled on purpose (fault injection)", "for", req.d)
	t := time.NewTimer(req.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-req.release:
	case <-ctx.Done():
	}
}

// watchdog is independent of the scheduler loop: it republishes the
// snapshot when a result goes stale or the startup grace ends, so neither a
// stalled scheduler nor a hung check can leave an old passing result
// standing.
func (m *Manager) watchdog(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.TickPeriod)
	defer t.Stop()
	m.lastWatch.Store(m.mono(time.Now()))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		m.mu.Lock()
		if m.pausedLocked(now) && !m.stopped {
			// This goroutine was not running either: the whole process was
			// paused. Say so before judging anything stale.
			m.resumedLocked(now)
			m.refreshLocked(now)
		}
		m.lastWatch.Store(m.mono(now))
		m.mu.Unlock()
		if d := m.nextDeadline.Load(); d != 0 && m.mono(now) >= d {
			m.mu.Lock()
			if !m.stopped {
				m.refreshLocked(now)
			}
			m.mu.Unlock()
		}
		if stalled, age := m.stalled(); stalled {
			if !m.stalledLog.Swap(true) {
				m.log.Warn("scheduler has not ticked; liveness failing", "since", age.Round(time.Millisecond))
			}
		} else if m.stalledLog.Swap(false) {
			m.log.Info("scheduler ticking again; liveness restored")
		}
	}
}
