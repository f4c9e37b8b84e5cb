package health

import "time"

// callHandler hands one confirmed critical failure to the shutdown manager.
// The core decided that it is due; what the handler answers goes back to
// the core.
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
	if m.core.declined(time.Now()) {
		m.log.Warn("shutdown handler declined the critical failure; staying up unhealthy", "reason", reason)
	}
	m.applyLocked()
}
