package probes

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

type fakeTrigger struct {
	mu    sync.Mutex
	names []string
}

func (f *fakeTrigger) Trigger(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names = append(f.names, name)
}

func (f *fakeTrigger) first() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.names[0]
}

func (f *fakeTrigger) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.names)
}

func TestSilenceTriggersThePubSubProbeOnlyWhenPeersAreThere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		trig := &fakeTrigger{}
		var peers atomic.Bool
		peers.Store(true)
		a, err := NewActivity(2*time.Second, peers.Load, trig, nil, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()

		// A heartbeat a second keeps the node quiet.
		for range 5 {
			time.Sleep(time.Second)
			a.Seen()
		}
		synctest.Wait()
		if n := trig.count(); n != 0 {
			t.Fatalf("%d triggers while messages kept arriving", n)
		}

		// Two seconds of silence: triggered within an eighth of that.
		time.Sleep(2*time.Second + 250*time.Millisecond)
		synctest.Wait()
		if n := trig.count(); n != 1 {
			t.Fatalf("%d triggers after 2.25s of silence, want 1", n)
		}
		if got := trig.first(); got != CheckPubSubRoundTrip {
			t.Fatalf("triggered %q", got)
		}
		// Still silent: not again at every period (the check's own retries
		// confirm a failure, and an overloaded mesh must not be probed by
		// every node every two seconds), but again after five of them.
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := trig.count(); n != 1 {
			t.Fatalf("%d triggers after 4.25s of silence, want still 1", n)
		}
		time.Sleep(8 * time.Second)
		synctest.Wait()
		if n := trig.count(); n != 2 {
			t.Fatalf("%d triggers after 12.25s of silence, want 2", n)
		}
		if got := testutil.ToFloat64(a.triggers); got != 2 {
			t.Fatalf("meshhealth_pubsub_silence_triggers_total = %v, want 2", got)
		}

		// Without topic peers silence is the connectivity check's business.
		peers.Store(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := trig.count(); n != 2 {
			t.Fatalf("%d triggers without peers, want still 2", n)
		}
		cancel()
		<-done
	})
}

// A node whose own process stalled (a starved machine) has not heard the
// messages that wait in its queues: the stall is not the mesh's silence.
func TestOwnStallIsNotMeshSilence(t *testing.T) {
	trig := &fakeTrigger{}
	aw := awareness.NewCore(0)
	a, err := NewActivity(2*time.Second, func() bool { return true }, trig, aw, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a.last = t0
	// The awareness' ticker and the watch's tick together, as in a process
	// where both run on the same starved CPU.
	at := func(d time.Duration) {
		aw.Tick(t0.Add(d))
		a.check(t0.Add(d))
	}
	for d := time.Duration(0); d <= time.Second; d += 250 * time.Millisecond {
		at(d)
	}
	// The next tick comes 2.5 s late: 3.5 s after the last message.
	at(3500 * time.Millisecond)
	if n := trig.count(); n != 0 {
		t.Fatalf("%d triggers right after a local stall, want 0", n)
	}
	// Silence counts again from the stall's end: two seconds of it, on
	// time, is the mesh's.
	for d := 3750 * time.Millisecond; d < 5500*time.Millisecond; d += 250 * time.Millisecond {
		at(d)
	}
	if n := trig.count(); n != 0 {
		t.Fatalf("%d triggers 1.75 s after the stall, want 0", n)
	}
	at(5500 * time.Millisecond)
	if n := trig.count(); n != 1 {
		t.Fatalf("%d triggers 2 s after the stall, want 1", n)
	}
}

// A process starved of CPU ticks on time but hears its peers late: as the
// health core does not count its failures, the silence watch does not
// probe while it lasts, and does once the process has recovered and still
// hears nothing.
func TestStarvedProcessDoesNotProbeOnSilence(t *testing.T) {
	for _, tc := range []struct {
		name        string
		aware       bool
		whileStarve int // triggers by 20 s (starved from 1 s)
	}{
		{"starvation discounted", true, 0},
		{"without awareness every silence period probes", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trig := &fakeTrigger{}
			aw := awareness.NewCore(0)
			var aware Aware
			if tc.aware {
				aware = aw
			}
			a, err := NewActivity(2*time.Second, func() bool { return true }, trig, aware, prometheus.NewRegistry(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			a.last = t0
			var wait time.Duration
			play := func(from, to time.Duration, starved bool) {
				for d := from; d <= to; d += 250 * time.Millisecond {
					now := t0.Add(d)
					if d%time.Second == 0 {
						aw.Sample(now, wait, true)
					}
					if starved {
						wait += 125 * time.Millisecond // half of every tick spent waiting for a CPU
					}
					aw.Tick(now)
					a.check(now)
				}
			}
			play(0, time.Second, false)
			play(time.Second+250*time.Millisecond, 20*time.Second, true)
			if n := trig.count(); n != tc.whileStarve {
				t.Fatalf("%d triggers while starved, want %d", n, tc.whileStarve)
			}
			if !tc.aware {
				return
			}
			// Recovered at 20 s: the last tick the sampler could still
			// count as starved is at 20.75 s, and the silence counts from
			// there; two seconds of it are the mesh's.
			play(20*time.Second+250*time.Millisecond, 22500*time.Millisecond, false)
			if n := trig.count(); n != 0 {
				t.Fatalf("%d triggers 1.75 s into a silence after recovering, want 0", n)
			}
			play(22750*time.Millisecond, 23*time.Second, false)
			if trig.count() != 1 {
				t.Fatalf("%d triggers once recovered and still silent, want 1", trig.count())
			}
		})
	}
}
