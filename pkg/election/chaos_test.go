package election

import (
	"fmt"
	"testing"
	"time"
)

// TestChaosAlwaysReconverges drives meshes through random kills, restarts,
// partitions and heals, with lossy, jittery delivery, and checks the two
// promises: no side of a partition keeps two leaders beyond one heartbeat,
// and one leader for all comes back after every heal.
func TestChaosAlwaysReconverges(t *testing.T) {
	cfg := DefaultConfig()
	maxOverlap := cfg.HeartbeatInterval + 100*time.Millisecond
	var worstOverlap time.Duration
	defer func() { t.Logf("longest two-leader overlap on one side: %v", worstOverlap) }()
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n := 3 + int(seed%7)
			s := newSim(t, n, DefaultConfig(), seed)
			s.loss = 0.02
			s.latency = 20 * time.Millisecond
			s.start()
			s.runUntil(30*time.Second, "first agreement", func() bool { return s.agreed() })
			for round := range 6 {
				switch s.rnd.IntN(3) {
				case 0: // kill the leader, or a random node
					victim := s.nodes[s.rnd.IntN(n)]
					if l := s.leader(); l != nil && s.rnd.IntN(2) == 0 {
						victim = l
					}
					if len(s.live(s.nodes)) > 1 {
						s.kill(victim)
					}
				case 1: // restart a dead node as a fresh process
					for _, nd := range s.nodes {
						if !nd.up {
							nd.m = newMachine(DefaultConfig(), nd.id, nd.m.rnd)
							s.start(nd)
							break
						}
					}
				case 2: // partition then heal
					var a, b []*simNode
					for _, nd := range s.nodes {
						if s.rnd.IntN(2) == 0 {
							a = append(a, nd)
						} else {
							b = append(b, nd)
						}
					}
					s.partition(a, b)
					// Two nodes of one side may both believe they lead for
					// a moment when lost messages gave them different views
					// of the members (each counted its majority over its own
					// view, in different terms); the next heartbeat settles
					// it. Longer than that is a bug.
					cut := true
					var since time.Time
					s.observers = []func(){func() {
						if !cut {
							return
						}
						two := false
						for _, side := range [][]*simNode{a, b} {
							two = two || len(s.leaders(side)) > 1
						}
						switch {
						case !two:
							since = time.Time{}
						case since.IsZero():
							since = s.now
						case s.now.Sub(since) > maxOverlap:
							t.Fatalf("round %d: two leaders on one side for %v\n%s", round, s.now.Sub(since), s.dump())
						}
						if two && s.now.Sub(since) > worstOverlap {
							worstOverlap = s.now.Sub(since)
						}
					}}
					s.run(time.Duration(5+s.rnd.IntN(20)) * time.Second)
					cut = false
					s.heal()
				}
				s.runUntil(30*time.Second, fmt.Sprintf("agreement after round %d", round), func() bool { return s.agreed() })
				s.run(time.Duration(s.rnd.IntN(10)) * time.Second)
			}
		})
	}
}
