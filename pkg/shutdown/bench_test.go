package shutdown

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkShutdown measures the manager's own cost for a node-sized
// shutdown: 4 hooks and 8 components that stop at once.
func BenchmarkShutdown(b *testing.B) {
	noop := func(context.Context) error { return nil }
	for b.Loop() {
		m := New(Config{}, nil, nil)
		for _, p := range phases {
			m.AddHook(p, string(p), noop)
		}
		for i := range 8 {
			m.Register(Component{Name: fmt.Sprint(i), Priority: i, Stop: noop})
		}
		m.Shutdown("bench", ExitOK)
		<-m.Done()
	}
}
