package awareness

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The edge samples the run-queue wait once a second on its one ticker,
// counts the starved seconds under the metric the health manager used to
// own, and tells its subscribers.
func TestAwarenessSamplesStarvationOnItsTicker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// While starving, the fake run-queue wait grows by half the wall
		// time (the reader runs on the ticker's goroutine only).
		var starving atomic.Bool
		var wait time.Duration
		last := time.Now()
		a, err := New(Config{RunQueueWait: func() (time.Duration, bool) {
			now := time.Now()
			if starving.Load() {
				wait += now.Sub(last) / 2
			}
			last = now
			return wait, true
		}}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var windows atomic.Int32
		a.OnWindow(func(w Window) {
			if w.Starved {
				windows.Add(1)
			}
		})
		if err := a.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer a.Stop()
		time.Sleep(3 * time.Second)
		if a.Starved() || a.Scale() != 1 || windows.Load() != 0 {
			t.Fatalf("idle: starved %v scale %d windows %d", a.Starved(), a.Scale(), windows.Load())
		}
		starving.Store(true)
		time.Sleep(3 * time.Second)
		if !a.Starved() || a.Scale() < 2 || windows.Load() < 2 {
			t.Fatalf("starving: starved %v scale %d windows %d", a.Starved(), a.Scale(), windows.Load())
		}
		if got := testutil.ToFloat64(a.starved); got < 2 {
			t.Fatalf("process_starved_seconds_total = %v, want at least 2", got)
		}
		starving.Store(false)
		time.Sleep(10 * time.Second)
		if a.Starved() || a.Scale() != 1 {
			t.Fatalf("recovered: starved %v scale %d", a.Starved(), a.Scale())
		}
		if a.StalledDuring(time.Now().Add(-time.Second), time.Now()) {
			t.Fatal("a process ticking on time, unstarved for 10 s, is stalled")
		}
	})
}

func TestStopEndsTheTickerAndAnyStallInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, err := New(Config{RunQueueWait: func() (time.Duration, bool) { return 0, false }}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := a.Start(t.Context()); err == nil {
			t.Fatal("started twice")
		}
		a.Stop()
		a.Stop()
		time.Sleep(time.Minute)
		if a.StalledDuring(time.Now().Add(-time.Second), time.Now()) {
			t.Fatal("a stopped awareness reports a stall in progress")
		}
	})
}
