package membership

import (
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Members is the rule in force: off (every peer admitted, the LAN default)
// or an allow-list, swapped whole when the file changes. Admit is called on
// libp2p's hot paths (every handshake, every GossipSub RPC), so it takes no
// lock.
type Members struct {
	list atomic.Pointer[List] // nil: off

	mu       sync.Mutex
	onChange []func()
}

// Admit reports whether id may be in the mesh. A nil Members admits
// everyone.
func (m *Members) Admit(id peer.ID) bool {
	if m == nil {
		return true
	}
	l := m.list.Load()
	return l == nil || l.Has(id)
}

// On reports whether a list is in force.
func (m *Members) On() bool { return m != nil && m.list.Load() != nil }

// Len is the number of peers the list in force admits; 0 when off.
func (m *Members) Len() int {
	if l := m.list.Load(); l != nil {
		return l.Len()
	}
	return 0
}

// Set puts l in force and calls the OnChange functions, so that peers no
// longer admitted are disconnected.
func (m *Members) Set(l List) {
	m.list.Store(&l)
	m.mu.Lock()
	fns := m.onChange
	m.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// OnChange registers fn to run after each Set.
func (m *Members) OnChange(fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onChange = append(m.onChange, fn)
}
