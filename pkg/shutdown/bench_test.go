package shutdown

import (
	"context"
	"fmt"
	"slices"
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
		var stops []func(context.Context) error
		for i := range 8 {
			stops = append(stops, m.Step(fmt.Sprint(i), 0, noop))
		}
		m.StopWith(func(ctx context.Context) error {
			for _, stop := range slices.Backward(stops) {
				_ = stop(ctx)
			}
			return nil
		})
		m.Shutdown("bench", ExitOK)
		<-m.Done()
	}
}
