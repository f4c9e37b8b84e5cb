package health

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestTransitionsAreLoggedCountedAndDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, graceConfig())
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "election-stability", Component: "election", Interval: 5 * time.Second,
			Timeout: time.Second, FailureThreshold: 1, Checker: tg.check})
		var mu sync.Mutex
		var got []Transition
		cancel := m.Subscribe(func(tr Transition) {
			mu.Lock()
			got = append(got, tr)
			mu.Unlock()
		})
		defer cancel()
		start(t, m)
		defer m.Stop()
		synctest.Wait()
		tg.set(false, "no leader")
		advance(5 * time.Second)

		mu.Lock()
		defer mu.Unlock()
		want := []struct{ kind, check, from, to string }{
			{"check", "election-stability", "unknown", "passing"},
			{"status", "", "starting", "healthy"},
			{"check", "election-stability", "passing", "failing"},
			{"status", "", "healthy", "degraded"},
		}
		if len(got) != len(want) {
			t.Fatalf("transitions = %+v, want %d", got, len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Kind != w.kind || g.Check != w.check || g.From != w.from || g.To != w.to || g.Seq != uint64(i+1) {
				t.Errorf("transition %d = %+v, want %+v", i, g, w)
			}
		}
		if got[3].Cause != "check election-stability failing: no leader" {
			t.Errorf("cause = %q", got[3].Cause)
		}
		if n := testutil.ToFloat64(m.metrics.transitions.WithLabelValues("degraded")); n != 1 {
			t.Errorf("status_transitions_total{to=degraded} = %v, want 1", n)
		}
		if log := m.Snapshot().Transitions; len(log) != 4 {
			t.Errorf("transitions log has %d entries, want 4", len(log))
		}
	})
}

func TestTransitionLogKeepsTheLast100(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "flappy", Component: "custom", Interval: time.Second, Timeout: time.Second,
			FailureThreshold: 1, Checker: tg.check})
		start(t, m)
		defer m.Stop()
		for i := range 120 {
			tg.set(i%2 == 1, "")
			advance(time.Second)
		}
		log := m.Snapshot().Transitions
		if len(log) != maxTransitions || log[len(log)-1].Seq <= maxTransitions {
			t.Fatalf("log: %d entries ending at seq %d, want the last %d", len(log), log[len(log)-1].Seq, maxTransitions)
		}
	})
}

func TestSlowListenerDoesNotBlockTheManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "flappy", Component: "custom", Interval: time.Second, Timeout: time.Second,
			FailureThreshold: 1, Checker: tg.check})
		block := make(chan struct{})
		cancel := m.Subscribe(func(Transition) { <-block })
		start(t, m)
		for i := range 400 {
			tg.set(i%2 == 0, "")
			advance(time.Second)
		}
		if got := tg.calls.Load(); got != 401 {
			t.Fatalf("checks ran %d times with a stuck listener, want 401", got)
		}
		if testutil.ToFloat64(m.metrics.eventsDropped) == 0 {
			t.Errorf("no dropped events counted for a listener 400 transitions behind")
		}
		cancel()
		close(block)
		m.Stop()
	})
}
