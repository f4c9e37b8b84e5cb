package health

import (
	"fmt"
	"time"
)

// handOffLocked gives each newly confirmed critical failure to the
// CriticalHandler, once per failing episode, once the startup grace is over.
// The handler runs in its own goroutine: it may block, or stop this manager,
// without holding up the scheduler.
func (m *Manager) handOffLocked(views map[string]CheckView, pastGrace bool) {
	anyFailing := false
	for _, c := range m.checks {
		if !c.def.Critical || c.def.Disabled {
			continue
		}
		if c.effective != StateFailing {
			c.criticalHandled = false // the episode is over
			continue
		}
		anyFailing = true
		if c.criticalHandled || !pastGrace || !m.cfg.ShutdownOnCritical || m.stopping {
			continue
		}
		c.criticalHandled = true
		reason := fmt.Sprintf("critical check %s: %s", c.def.Name, views[c.def.Name].Message)
		if m.handler == nil {
			m.log.Error("critical check failing and no shutdown handler set", "reason", reason)
			continue
		}
		m.log.Warn("critical failure confirmed; asking for shutdown", "reason", reason)
		go m.callHandler(m.handler, reason)
	}
	if !anyFailing && m.suppressed {
		m.suppressed = false
		m.metrics.suppressed.Set(0)
		m.log.Info("no critical check failing any more; shutdown no longer suppressed")
	}
}

func (m *Manager) callHandler(h CriticalHandler, reason string) {
	stopping := func() (stopping bool) {
		defer func() {
			if p := recover(); p != nil {
				m.log.Error("critical handler panicked", "panic", p)
			}
		}()
		return h.HandleCritical(reason)
	}()
	if stopping {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.checks {
		if c.def.Critical && !c.def.Disabled && c.effective == StateFailing {
			if !m.suppressed {
				m.log.Warn("shutdown handler declined the critical failure; staying up unhealthy", "reason", reason)
				m.suppressed = true
				m.metrics.suppressed.Set(1)
				m.refreshLocked(time.Now())
			}
			return
		}
	}
}
