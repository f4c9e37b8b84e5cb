package recovery

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeChecks is a check whose result flips when fixed is set: each
// Trigger re-runs it at once.
type fakeChecks struct {
	mu       sync.Mutex
	fixed    bool
	at       time.Time
	passing  bool
	triggers int
}

func (f *fakeChecks) Trigger(string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggers++
	f.at, f.passing = time.Now(), f.fixed
}

func (f *fakeChecks) LastResult(string) (time.Time, bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at, f.passing, !f.at.IsZero()
}

type fakeExit struct {
	mu      sync.Mutex
	reasons []string
}

func (e *fakeExit) HandleCritical(reason string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reasons = append(e.reasons, reason)
	return true
}

func (e *fakeExit) calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.reasons...)
}

const reason = "critical check p2p-connectivity: 0 peers connected, need at least 1"

func TestTheDriverRepairsAndTheNodeStaysUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		checks, exit := &fakeChecks{}, &fakeExit{}
		var ran []string
		reg := prometheus.NewRegistry()
		d, err := NewDriver(Config{Budget: 30 * time.Second}, Options{
			Steps: []Step{
				{Name: "redial", Run: func(context.Context) error { ran = append(ran, "redial"); return errors.New("no route") }},
				{Name: "dht", Run: func(context.Context) error {
					ran = append(ran, "dht")
					checks.mu.Lock()
					checks.fixed = true
					checks.mu.Unlock()
					return nil
				}},
			},
			Checks: checks, Exit: exit, Own: func(string) bool { return true },
		}, reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !d.HandleCritical(reason) {
			t.Fatal("a repaired failure was declined")
		}
		if len(exit.calls()) != 0 {
			t.Fatalf("exited: %v", exit.calls())
		}
		if len(ran) != 2 || ran[1] != "dht" {
			t.Fatalf("steps ran %v", ran)
		}
		if got := testutil.ToFloat64(d.metrics.recoveries.WithLabelValues("p2p-connectivity", "recovered")); got != 1 {
			t.Fatalf("recovered count %v", got)
		}
		if d.Current() != nil {
			t.Fatal("still recovering")
		}
	})
}

func TestTheDriverExitsWhenTheBudgetIsSpent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		checks, exit := &fakeChecks{}, &fakeExit{}
		// Two rounds of a step that hangs until its 5 s deadline, each
		// followed by a re-run, fit in the budget; the third is cut by it.
		d, err := NewDriver(Config{Budget: 15 * time.Second}, Options{
			Steps: []Step{{Name: "redial", Run: func(ctx context.Context) error {
				<-ctx.Done() // a dial that hangs until its deadline
				return ctx.Err()
			}}},
			Checks: checks, Exit: exit, Own: func(string) bool { return true },
		}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		d.HandleCritical(reason)
		if took := time.Since(start); took < 15*time.Second {
			t.Fatalf("exited after %v, before the budget", took)
		}
		if c := exit.calls(); len(c) != 1 || c[0] != reason {
			t.Fatalf("exit calls %v", c)
		}
		if checks.triggers < 2 {
			t.Fatalf("the check re-ran %d times after the steps", checks.triggers)
		}
	})
}

func TestAFailureNotTheNodesOwnExitsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exit := &fakeExit{}
		d, err := NewDriver(Config{Budget: 30 * time.Second}, Options{
			Steps:  []Step{{Name: "redial", Run: func(context.Context) error { t.Error("a step ran"); return nil }}},
			Checks: &fakeChecks{}, Exit: exit, Own: func(string) bool { return false },
		}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		d.HandleCritical(reason)
		if time.Since(start) != 0 || len(exit.calls()) != 1 {
			t.Fatalf("took %v, exit calls %v", time.Since(start), exit.calls())
		}
	})
}

func TestStoppingEndsARecoveryUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exit := &fakeExit{}
		d, err := NewDriver(Config{Budget: time.Hour}, Options{
			Steps:  []Step{{Name: "redial", Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}},
			Checks: &fakeChecks{}, Exit: exit, Own: func(string) bool { return true },
		}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan bool)
		go func() { done <- d.HandleCritical(reason) }()
		time.Sleep(3 * time.Second)
		d.Close()
		if !<-done || len(exit.calls()) != 0 {
			t.Fatalf("exit calls %v", exit.calls())
		}
	})
}
