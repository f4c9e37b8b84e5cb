package health

import (
	"encoding/json"
	"maps"
	"time"
)

// recoveryView is what /health and /health/checks/NAME show of recovery
// (pkg/recovery): health only carries it, encoded.
type recoveryView struct {
	all     json.RawMessage
	byCheck map[string]json.RawMessage
}

// SetRecovery sets what /health shows under "recovery" (all) and what
// /health/checks/NAME shows under "recoveries" (byCheck, by check name).
// Both are encoded to JSON at once; a value JSON cannot encode is left
// out. The status is not touched: a node recovering from a critical
// failure stays unhealthy until its checks pass.
func (m *Manager) SetRecovery(all any, byCheck map[string]any) {
	v := recoveryView{byCheck: make(map[string]json.RawMessage, len(byCheck))}
	var err error
	if v.all, err = json.Marshal(all); err != nil {
		m.log.Warn("recovery cannot be encoded as JSON", "err", err)
		v.all = nil
	}
	for name, x := range byCheck {
		b, err := json.Marshal(x)
		if err != nil {
			m.log.Warn("recovery cannot be encoded as JSON", "check", name, "err", err)
			continue
		}
		v.byCheck[name] = b
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.core.setRecovery(v, time.Now())
	m.applyLocked()
}

func (k *core) setRecovery(v recoveryView, now time.Time) {
	k.recovery = recoveryView{all: v.all, byCheck: maps.Clone(v.byCheck)}
	k.refresh(now)
}

// LastResult is the named check's latest result: when it was taken and
// whether it passed (ok false: unknown check, or no result yet).
func (m *Manager) LastResult(name string) (at time.Time, passing, ok bool) {
	v, found := m.Snapshot().Checks[name]
	if !found || v.Timestamp.IsZero() {
		return time.Time{}, false, false
	}
	return v.Timestamp, v.Healthy, true
}
