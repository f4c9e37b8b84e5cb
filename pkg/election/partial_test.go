package election

import (
	"fmt"
	"testing"
	"time"
)

// A mesh of bounded degree starting at once: 50 processes launched over
// three seconds, each connected to 16 of the others, every message
// reaching every node over multi-hop gossip (with a few hops' delay), and
// each node's liveness view learning the members one by one, as their
// first messages reach it. The election reads its members from that view,
// not from the connections: one leader, in a low term, and it stays.
func TestPartiallyConnectedStartElectsOneLeaderInALowTerm(t *testing.T) {
	cases := []struct {
		name    string
		latency time.Duration // plus up to as much again, per delivery
		loss    float64
		// discover: a node's liveness view hears each member within this
		// long of both being up.
		discover time.Duration
	}{
		{"LAN", 50 * time.Millisecond, 0, 4 * time.Second},
		{"loaded machine", 400 * time.Millisecond, 0.02, 4 * time.Second},
		// Deliveries as late as the election window, members found
		// over ten seconds: the bootstrap deadlines pass while every
		// node still knows only part of the mesh.
		{"overloaded machine", time.Second, 0.05, 10 * time.Second},
	}
	seeds := uint64(3)
	if testing.Short() || raceOn {
		// The machines run in this one goroutine: the race detector has
		// nothing to find here, and slowed the nine runs to minutes of
		// CPU beside the rest of make test's packages.
		seeds = 1
	}
	for _, c := range cases {
		for seed := uint64(1); seed <= seeds; seed++ {
			t.Run(fmt.Sprintf("%s seed %d", c.name, seed), func(t *testing.T) {
				const n, degree = 50, 16
				cfg := DefaultConfig()
				s := newSim(t, n, cfg, seed)
				s.latency, s.loss = c.latency, c.loss
				launch := map[*simNode]time.Time{}
				heardAfter := map[[2]*simNode]time.Duration{}
				for _, a := range s.nodes {
					a.in.ConnectedPeers = degree
					launch[a] = s.now.Add(time.Duration(s.rnd.Int64N(int64(3 * time.Second))))
					for _, b := range s.nodes {
						heardAfter[[2]*simNode{a, b}] = 200*time.Millisecond + time.Duration(s.rnd.Int64N(int64(c.discover)))
					}
				}
				s.known = func(a, b *simNode) bool {
					return b.up && !s.now.Before(later(launch[a], launch[b]).Add(heardAfter[[2]*simNode{a, b}]))
				}
				start := s.now
				for s.now.Sub(start) < 3*time.Second {
					for _, nd := range s.nodes {
						if !nd.up && !s.now.Before(launch[nd]) {
							s.start(nd)
						}
					}
					s.run(s.step)
				}
				took := s.runUntil(60*time.Second, "agreement on one leader", func() bool { return s.agreed() })
				st := s.leader().m.state(s.now)
				s.run(60 * time.Second)
				after := s.leader().m.state(s.now)
				if !s.agreed() || after.Leader != st.Leader || after.Term != st.Term {
					t.Fatalf("leadership moved after agreement: %s/%d -> %s/%d\n%s", st.Leader, st.Term, after.Leader, after.Term, s.dump())
				}
				var highest uint64
				candidacies := 0
				for _, nd := range s.nodes {
					highest = max(highest, nd.m.maxTerm)
					for k, v := range nd.evs {
						if len(k) > len(eventCandidacy) && k[:len(eventCandidacy)] == eventCandidacy {
							candidacies += v
						}
					}
				}
				t.Logf("agreed %v after the last launch, term %d, highest term %d, %d candidacies", took, st.Term, highest, candidacies)
				if highest > 3 {
					t.Fatalf("highest term %d, want at most 3\n%s", highest, s.dump())
				}
			})
		}
	}
}
