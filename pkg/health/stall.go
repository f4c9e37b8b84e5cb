package health

import (
	"context"
	"time"
)

type stallRequest struct {
	d       time.Duration
	release chan struct{}
}

// StallFor blocks the scheduler loop for d: the "scheduler stall" fault.
// Checks are not launched and ticks stop, so /health/live turns 503 after 3
// tick periods and results go stale. StallFor(0) releases a stall at once.
// It never blocks the caller.
func (m *Manager) StallFor(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
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

// watchdog is independent of the scheduler loop: it notices pauses of the
// whole process and makes the core judge staleness on time (core.watch),
// and it logs when the scheduler stops ticking.
func (m *Manager) watchdog(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.TickPeriod)
	defer t.Stop()
	stalledLogged := false // the current scheduler stall is logged
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		m.core.watch(time.Now())
		m.applyLocked()
		m.mu.Unlock()
		if stalled, age := m.stalled(); stalled {
			if !stalledLogged {
				stalledLogged = true
				m.log.Warn("scheduler has not ticked; liveness failing", "since", age.Round(time.Millisecond))
			}
		} else if stalledLogged {
			stalledLogged = false
			m.log.Info("scheduler ticking again; liveness restored")
		}
	}
}
