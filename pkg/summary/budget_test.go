package summary

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The summaries' interval stretches with the mesh as its budget allows, a
// peer's summary stands for three of them, and a peer may stay silent for
// three before it is suspect, whatever this node's own count of members.
func TestIntervalTTLAndSilenceStretchWithTheMesh(t *testing.T) {
	members := 5
	b, err := New(&fakeTopic{}, newID(t), func() Values { return Values{} },
		Config{Interval: 10 * time.Second, Members: func() int { return members }}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		members             int
		interval, ttl, gone time.Duration
	}{
		{5, 10 * time.Second, 30 * time.Second, 30 * time.Second},
		{50, 50 * time.Second, 150 * time.Second, 150 * time.Second},
		{100, 100 * time.Second, 300 * time.Second, 300 * time.Second},
	} {
		members = c.members
		if got := b.interval(); got != c.interval {
			t.Errorf("%d members: interval %v, want %v", c.members, got, c.interval)
		}
		if got := b.TTL(); got != c.ttl {
			t.Errorf("%d members: TTL %v, want %v", c.members, got, c.ttl)
		}
		members = 1 // Silence counts the members it is given, not the book's
		if got := b.Silence(c.members); got != c.gone {
			t.Errorf("%d members: silence %v, want %v", c.members, got, c.gone)
		}
	}
}

// A node that learns the mesh after its first summary waits the interval
// the members known now set, not the one it scheduled knowing few: a
// starting mesh's second round of summaries is what the budget spares.
func TestSecondSummaryWaitsForTheMeshLearnedMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var members atomic.Int64
		members.Store(3)
		ft := &fakeTopic{}
		b, err := New(ft, newID(t), healthyValues,
			Config{Interval: 10 * time.Second, Members: func() int { return int(members.Load()) }}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { b.publishLoop(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		// after waits d and says how many summaries were published by then.
		after := func(d time.Duration) int {
			time.Sleep(d)
			synctest.Wait()
			return len(ft.published())
		}
		if n := after(0); n != 1 {
			t.Fatalf("%d summaries at start, want 1", n)
		}
		time.Sleep(2 * time.Second)
		members.Store(100) // the mesh heard: 100 s a summary
		if n := after(97 * time.Second); n != 1 {
			t.Fatalf("%d summaries in 99 s with 100 members known from 2 s on, want only the first", n)
		}
		if n := after(2 * time.Second); n != 2 {
			t.Fatalf("%d summaries 101 s in, want the second at 100 s", n)
		}

		// A status change is still told, as soon as MinGap allows.
		b.Nudge()
		if n := after(0); n != 2 {
			t.Fatalf("%d summaries right after a nudge within MinGap of the last, want 2", n)
		}
		if n := after(5 * time.Second); n != 3 {
			t.Fatalf("%d summaries 5 s after a nudge, want the nudged one", n)
		}
	})
}
