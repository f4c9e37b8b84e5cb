package summary

import (
	"testing"
	"time"
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
