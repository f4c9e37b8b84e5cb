package election

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

func TestMeshConvergesOnOneLeader(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 9} {
		for seed := uint64(1); seed <= 5; seed++ {
			t.Run(fmt.Sprintf("%d nodes seed %d", n, seed), func(t *testing.T) {
				s := newSim(t, n, DefaultConfig(), seed)
				s.start()
				took := s.runUntil(20*time.Second, "agreement on one leader", func() bool { return s.agreed() })
				// Stays settled: no flapping once agreed.
				before := s.leader().m.state(s.now)
				s.run(30 * time.Second)
				after := s.leader().m.state(s.now)
				if !s.agreed() || after.Leader != before.Leader || after.Term != before.Term {
					t.Fatalf("leadership moved in steady state: %s/%d -> %s/%d", before.Leader, before.Term, after.Leader, after.Term)
				}
				t.Logf("agreed after %v, term %d", took, after.Term)
			})
		}
	}
}

func TestStaggeredStartsConvergeWithoutDeposingTheFirstLeader(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 3)
	// A node is connected to the nodes started so far.
	connect := func(started int) {
		for _, nd := range s.nodes[:started] {
			nd.in.ConnectedPeers = started - 1
		}
	}
	connect(1)
	s.start(s.nodes[0])
	s.runUntil(15*time.Second, "the first node leading itself", func() bool { return s.nodes[0].m.isLeader() })
	for i, nd := range s.nodes[1:] {
		s.run(700 * time.Millisecond)
		connect(i + 2)
		s.start(nd)
	}
	s.runUntil(10*time.Second, "agreement", func() bool { return s.agreed() })
	st := s.nodes[4].m.state(s.now)
	if st.Leader != s.nodes[0].id.String() || st.Term != 1 {
		t.Fatalf("joiners elected %s in term %d instead of following the running leader\n%s", st.Leader, st.Term, s.dump())
	}
	for _, nd := range s.nodes[1:] {
		if nd.evs[eventCandidacy+"/"+standBootstrap] != 0 {
			t.Fatalf("%s stood although a leader was running", s.name(nd.id))
		}
	}
}

func TestKilledLeaderIsReplacedInAHigherTerm(t *testing.T) {
	for _, n := range []int{3, 5, 9} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newSim(t, n, DefaultConfig(), 11)
			s.start()
			s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
			old := s.leader()
			oldTerm := old.m.state(s.now).Term
			s.kill(old)
			took := s.runUntil(20*time.Second, "a new leader", func() bool { return s.agreed() })
			st := s.leader().m.state(s.now)
			if st.Term <= oldTerm {
				t.Fatalf("new leader in term %d, not above %d", st.Term, oldTerm)
			}
			cfg := DefaultConfig()
			// Bounded by the slowest randomised timeout plus one window and
			// a retry: a killed leader is replaced on the heartbeat
			// timeout (docs/ARCHITECTURE.md, the message budget).
			if max := time.Duration(float64(cfg.HeartbeatTimeout)*(1+cfg.TimeoutJitter)) + 2*cfg.ElectionWindow; took > max {
				t.Fatalf("replacement took %v, budget %v", took, max)
			}
			t.Logf("replaced in %v", took)
		})
	}
}

// A zone outage kills half the mesh but not the leader. The dead stay
// members, under suspicion, until the liveness view confirms them (35 s
// after a SIGKILL in a 6-node mesh in CI), while the election forgets
// their votes after its member TTL (18 s there): a leader that counted
// them against its majority resigned a timeout later, and the survivors
// churned through leaderless terms until the view held the dead dead
// (mass-kill: 13 leader changes on 3 survivors). It keeps leading, and
// nobody changes leader.
func TestZoneOutageKeepsTheSurvivingLeader(t *testing.T) {
	for _, n := range []int{4, 6, 9} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newSim(t, n, DefaultConfig(), 31)
			s.suspicion = 35 * time.Second
			s.start()
			s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
			l := s.leader()
			term := l.m.state(s.now).Term
			killed := 0
			for _, nd := range s.nodes {
				if nd != l && killed < n/2 {
					s.kill(nd)
					killed++
				}
			}
			s.observers = append(s.observers, func() {
				for _, nd := range s.live(s.nodes) {
					if st := nd.m.state(s.now); !st.HaveLeader || st.Leader != l.id.String() || st.Term != term {
						t.Fatalf("%s left the surviving leader %s (term %d) after half the mesh died\n%s",
							s.name(nd.id), s.name(l.id), term, s.dump())
					}
				}
			})
			s.run(60 * time.Second)
		})
	}
}

// A leader whose members are alive but stop backing it (a healed
// partition made the mesh bigger than its side, and the others follow
// someone else) still resigns after a heartbeat timeout without a
// majority: only members under suspicion are left out of its count.
func TestLeaderWithoutTheBackingOfLiveMembersResigns(t *testing.T) {
	cfg := DefaultConfig()
	s := newSim(t, 5, cfg, 32)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	l := s.leader()
	// Three members go silent on the election topic, yet the liveness
	// view hears them alive on every other topic.
	var silent []*simNode
	for _, nd := range s.nodes {
		if nd != l && len(silent) < 3 {
			silent = append(silent, nd)
		}
	}
	s.known = func(a, b *simNode) bool { return b.up }
	s.linkFilter = func(from, to *simNode) bool {
		for _, nd := range silent {
			if nd == from || nd == to {
				return false
			}
		}
		return true
	}
	s.runUntil(cfg.MemberTTL+3*cfg.HeartbeatTimeout, "the leader resigns", func() bool { return !l.m.isLeader() })
	if l.evs[eventStepDown+"/"+downLost] == 0 {
		t.Fatalf("the leader stopped leading, but not for its lost majority: %v", l.evs)
	}
}

func TestResignedLeaderIsReplacedBeforeTheHeartbeatTimeout(t *testing.T) {
	cfg := DefaultConfig()
	s := newSim(t, 5, cfg, 5)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	old := s.leader()
	oldTerm := old.m.state(s.now).Term
	stoodBefore := old.evs[eventCandidacy+"/"+standResign] + old.evs[eventCandidacy+"/"+standRetry]
	if !old.m.withdraw(s.now) {
		t.Fatal("the leader did not know it was leading")
	}
	s.collect(old)
	if _, ok := old.sent[len(old.sent)-1].(*wire.Resign); !ok {
		t.Fatalf("withdraw published %T, want a Resign", old.sent[len(old.sent)-1])
	}
	took := s.runUntil(cfg.HeartbeatTimeout, "a new leader before the timeout", func() bool {
		l := s.leader()
		return l != nil && l != old && s.agreed()
	})
	if st := s.leader().m.state(s.now); st.Term <= oldTerm {
		t.Fatalf("term %d after resign, want above %d", st.Term, oldTerm)
	}
	for _, nd := range s.nodes {
		if nd.evs[eventCandidacy+"/"+standTimeout] != 0 {
			t.Fatalf("%s waited for the timeout", s.name(nd.id))
		}
	}
	// The resigned node never stands again.
	s.run(time.Minute)
	if old.evs[eventCandidacy+"/"+standResign]+old.evs[eventCandidacy+"/"+standRetry] != stoodBefore || old.m.isLeader() {
		t.Fatalf("a withdrawn node stood again: %v", old.evs)
	}
	// A handover is a change, but not flapping.
	for _, nd := range s.nodes {
		if nd == old {
			continue
		}
		if st := nd.m.state(s.now); st.ChangesTotal != 1 || st.ChangesRecent != 0 {
			t.Fatalf("%s after a resign: %d changes, %d recent; want 1 and 0", s.name(nd.id), st.ChangesTotal, st.ChangesRecent)
		}
	}
	t.Logf("replaced %v after the resign", took)
}

func TestWithdrawOnAFollowerPublishesNothing(t *testing.T) {
	s := newSim(t, 3, DefaultConfig(), 5)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	var follower *simNode
	for _, nd := range s.nodes {
		if !nd.m.isLeader() {
			follower = nd
		}
	}
	if follower.m.withdraw(s.now) {
		t.Fatal("a follower reported it was leading")
	}
	if out, _ := follower.m.ready(); len(out) != 0 {
		t.Fatalf("a follower's withdraw published %v", out)
	}
}

func TestPartitionNeverHasTwoLeadersOnOneSideAndHealsToOne(t *testing.T) {
	cases := []struct {
		name string
		n    int
		// side returns the two sides given the leader's index and the others.
		leaderSide, otherSide int
	}{
		{"leader in the minority 2|3", 5, 2, 3},
		{"leader in the majority 3|2", 5, 3, 2},
		{"even split 2|2", 4, 2, 2},
		{"9 nodes 4|5", 9, 4, 5},
		{"leader isolated 1|4", 5, 1, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSim(t, c.n, DefaultConfig(), 21)
			s.start()
			s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
			l := s.leader()
			a := []*simNode{l}
			var b []*simNode
			for _, nd := range s.nodes {
				if nd != l {
					if len(a) < c.leaderSide {
						a = append(a, nd)
					} else {
						b = append(b, nd)
					}
				}
			}
			s.partition(a, b)
			partitioned := true
			s.observers = append(s.observers, func() {
				if !partitioned {
					return
				}
				for _, side := range [][]*simNode{a, b} {
					if ls := s.leaders(side); len(ls) > 1 {
						t.Fatalf("two leaders on one side: %v\n%s", ls, s.dump())
					}
				}
			})
			s.run(30 * time.Second)
			// Each side with a majority of its own members settles on a
			// leader once the other side's members expire.
			for _, side := range [][]*simNode{a, b} {
				if len(side) > 1 && !s.agreed(side...) {
					t.Fatalf("side of %d without one agreed leader\n%s", len(side), s.dump())
				}
			}
			partitioned = false
			s.heal()
			took := s.runUntil(20*time.Second, "one leader after the heal", func() bool { return s.agreed() })
			s.run(20 * time.Second)
			if !s.agreed() {
				t.Fatalf("agreement did not last after the heal\n%s", s.dump())
			}
			t.Logf("healed in %v to %s", took, s.name(s.leader().id))
		})
	}
}

func TestMajoritySideKeepsItsLeaderAfterHeal(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 8)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	l := s.leader()
	var a, b []*simNode
	a = append(a, l)
	for _, nd := range s.nodes {
		if nd != l {
			if len(a) < 3 {
				a = append(a, nd)
			} else {
				b = append(b, nd)
			}
		}
	}
	s.partition(a, b)
	s.run(30 * time.Second) // the minority elects its own leader, in higher terms
	if !s.agreed(b...) || s.leader(b...).m.state(s.now).Term <= l.m.state(s.now).Term {
		t.Fatalf("the minority side did not elect a leader in a higher term\n%s", s.dump())
	}
	s.heal()
	s.runUntil(20*time.Second, "one leader", func() bool { return s.agreed() })
	if s.leader() != l {
		t.Fatalf("the minority's inflated term deposed the majority's leader\n%s", s.dump())
	}
}

func TestForgedHeartbeatIsIgnored(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 4)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	l := s.leader()
	before := l.m.state(s.now)
	rogue := simPeer(t, 999)
	// The rogue claims the current term, then a higher one, with a perfect
	// score and every second, as a real leader would.
	for i := range 20 {
		term := before.Term
		if i >= 10 {
			term += 5
		}
		s.inject(rogue, &wire.Heartbeat{Term: term, Seq: uint64(i + 1), Score: 1})
		s.run(time.Second)
	}
	if !s.agreed() || s.leader() != l {
		t.Fatalf("a forged heartbeat moved leadership\n%s", s.dump())
	}
	if st := l.m.state(s.now); st.Term != before.Term || st.ChangesTotal != before.ChangesTotal {
		t.Fatalf("term %d -> %d, changes %d -> %d", before.Term, st.Term, before.ChangesTotal, st.ChangesTotal)
	}
	for _, nd := range s.nodes {
		if nd.evs[eventIgnored+"/"+ignoredNotLeader] < 20 {
			t.Fatalf("%s counted %d ignored heartbeats, want 20", s.name(nd.id), nd.evs[eventIgnored+"/"+ignoredNotLeader])
		}
	}
}

func TestForgedResignIsIgnored(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 4)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	l := s.leader()
	term := l.m.state(s.now).Term
	s.inject(simPeer(t, 999), &wire.Resign{Term: term})
	s.run(10 * time.Second)
	if s.leader() != l || !s.agreed() {
		t.Fatalf("a resign from a non-leader moved leadership\n%s", s.dump())
	}
}

func TestFrozenLeaderIsReplacedAndStepsDownWhenItHearsSo(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 6)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	old := s.leader()
	oldTerm := old.m.state(s.now).Term
	old.m.freeze(true)
	sent := len(old.sent)
	s.run(time.Second)
	if !old.m.isLeader() {
		t.Fatal("a frozen leader stopped believing it leads at once")
	}
	s.runUntil(20*time.Second, "a new leader", func() bool { return s.agreed() && s.leader() != old })
	if st := s.leader().m.state(s.now); st.Term <= oldTerm {
		t.Fatalf("new term %d, want above %d", st.Term, oldTerm)
	}
	for _, msg := range old.sent[sent:] {
		if _, ok := msg.(*wire.Heartbeat); ok {
			t.Fatal("a frozen leader sent a heartbeat")
		}
	}
	if old.evs[eventStepDown+"/"+downOutranked] != 1 {
		t.Fatalf("the frozen leader did not step down on hearing the new majority: %v", old.evs)
	}
}

func TestUnhealthyLeaderResignsAndUnhealthyNodesNeverStand(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 9)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	old := s.leader()
	stood := func() int {
		return old.evs[eventCandidacy+"/"+standResign] + old.evs[eventCandidacy+"/"+standRetry] +
			old.evs[eventCandidacy+"/"+standTimeout]
	}
	before := stood() // its candidacies while it was healthy
	old.in.Status = "unhealthy"
	s.runUntil(5*time.Second, "a new leader", func() bool { return s.agreed() && s.leader() != old })
	if old.evs[eventStepDown+"/"+downUnhealthy] != 1 {
		t.Fatalf("the unhealthy leader did not resign: %v", old.evs)
	}
	s.run(time.Minute)
	if n := stood() - before; n != 0 {
		t.Fatalf("an unhealthy node stood %d times", n)
	}
	if !s.agreed() {
		t.Fatalf("the unhealthy node does not follow the new leader\n%s", s.dump())
	}
}

func TestIsolatedUnhealthyNodeNeverCrownsItself(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 10)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	var lone *simNode
	for _, nd := range s.nodes {
		if !nd.m.isLeader() {
			lone = nd
		}
	}
	rest := []*simNode{}
	for _, nd := range s.nodes {
		if nd != lone {
			rest = append(rest, nd)
		}
	}
	s.partition([]*simNode{lone}, rest)
	lone.in.Status = "unhealthy" // what p2p-connectivity makes of isolation
	s.run(time.Minute)
	if lone.m.isLeader() || lone.m.state(s.now).HaveLeader {
		t.Fatalf("the isolated node leads or follows a ghost\n%s", s.dump())
	}
	if lone.m.maxTerm != rest[0].m.state(s.now).Term && lone.evs[eventCandidacy+"/"+standTimeout] != 0 {
		t.Fatal("the isolated node stood")
	}
	// Back, and healthy again: it follows the running leader, whose term
	// it did not inflate.
	leaderBefore := s.leader(rest...)
	s.heal()
	lone.in.Status = "healthy"
	s.runUntil(10*time.Second, "rejoin", func() bool { return s.agreed() })
	if s.leader() != leaderBefore {
		t.Fatal("the returning node deposed the leader")
	}
}

func TestLoneHealthyNodeLeadsItself(t *testing.T) {
	s := newSim(t, 1, DefaultConfig(), 1)
	s.start()
	cfg := DefaultConfig()
	// No peer on the election topic: it leads itself after aloneFactor
	// bootstrap waits.
	took := s.runUntil(aloneFactor*cfg.BootstrapWait+5*time.Second, "a one-node leader", func() bool { return s.agreed() })
	if took < cfg.BootstrapWait {
		t.Fatalf("led after %v, before the bootstrap wait %v", took, cfg.BootstrapWait)
	}
}

// A follower starved of CPU (on a loaded machine, a hundred processes on
// two cores) reads nothing from its leader for longer than the timeout,
// but the time it could not run is its own slowness, not the leader's
// death: it keeps its leader and does not stand. Once its silence, less
// that time, passes the timeout, it stands as before.
func TestStarvedFollowerKeepsItsLeader(t *testing.T) {
	cfg := DefaultConfig()
	s := newSim(t, 5, cfg, 13)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	l := s.leader()
	term := l.m.state(s.now).Term
	var starved *simNode
	for _, nd := range s.nodes {
		if nd != l {
			starved = nd
		}
	}
	from := s.now
	until := from.Add(2 * cfg.HeartbeatTimeout)
	starved.in.Lost = func(a, b time.Time) time.Duration {
		a, b = later(a, from), earlier(b, until)
		return max(b.Sub(a), 0)
	}
	s.linkFilter = func(to, _ *simNode) bool { return to != starved || !s.now.Before(until) }
	s.run(until.Sub(from) + cfg.HeartbeatInterval)
	if st := starved.m.state(s.now); st.Leader != l.id.String() || st.Term != term {
		t.Fatalf("the starved follower left its live leader\n%s", s.dump())
	}
	if n := starved.evs[eventCandidacy+"/"+standTimeout]; n != 0 {
		t.Fatalf("the starved follower stood %d times", n)
	}

	// Cut off for real now, while still counted as starved until
	// until: it stands once the silence after the starvation passes the
	// timeout.
	s.linkFilter = func(to, _ *simNode) bool { return to != starved }
	s.runUntil(2*cfg.HeartbeatTimeout, "the follower stands", func() bool {
		return starved.evs[eventCandidacy+"/"+standTimeout] > 0
	})
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func TestFlakyNodeCannotDeposeALiveLeader(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 12)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	l := s.leader()
	term := l.m.state(s.now).Term
	var flaky *simNode
	for _, nd := range s.nodes {
		if nd != l {
			flaky = nd
		}
	}
	// flaky hears everyone but the leader: it times out and stands, again
	// and again; the others, who hear the leader, must not follow it.
	s.linkFilter = func(from, to *simNode) bool {
		return !(from == l && to == flaky || from == flaky && to == l)
	}
	s.run(time.Minute)
	s.linkFilter = nil
	for _, nd := range s.nodes {
		if nd == flaky {
			continue
		}
		if st := nd.m.state(s.now); st.Leader != l.id.String() || st.Term != term {
			t.Fatalf("%s moved to %s/%d\n%s", s.name(nd.id), st.Leader, st.Term, s.dump())
		}
	}
	if flaky.evs[eventCandidacy+"/"+standTimeout]+flaky.evs[eventCandidacy+"/"+standRetry] == 0 {
		t.Fatal("the flaky node never stood: the test did not test anything")
	}
	s.runUntil(10*time.Second, "flaky rejoins", func() bool { return s.agreed() })
}

func TestForgedHugeTermsCannotExhaustTheTerms(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 14)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	rogue := simPeer(t, 998)
	s.inject(rogue, &wire.Candidate{Term: wire.MaxInt, Score: 1})
	s.inject(rogue, &wire.Heartbeat{Term: wire.MaxInt, Seq: 1, Score: 1})
	s.inject(rogue, &wire.Vote{Term: wire.MaxInt, Candidate: rogue})
	s.run(5 * time.Second)
	old := s.leader()
	s.kill(old)
	s.runUntil(20*time.Second, "a new leader after the forged terms", func() bool { return s.agreed() })
	if term := s.leader().m.state(s.now).Term; term > 100 {
		t.Fatalf("the forged term leaked into the elections: term %d", term)
	}
	for _, nd := range s.live(s.nodes) {
		if nd.evs[eventIgnored+"/"+ignoredTermJump] == 0 {
			t.Fatalf("%s did not count the forged candidacy", s.name(nd.id))
		}
	}
}

func TestJoinerTakesAFarTermFromTheMajority(t *testing.T) {
	s := newSim(t, 3, DefaultConfig(), 15)
	for _, nd := range s.nodes {
		nd.m.maxTerm = 5000 // a mesh that has been electing for a long time
	}
	s.start(s.nodes[:2]...)
	s.runUntil(20*time.Second, "agreement of the two", func() bool { return s.agreed(s.nodes[:2]...) })
	late := s.add(DefaultConfig(), 77)
	s.start(late)
	s.runUntil(20*time.Second, "the late node follows", func() bool { return s.agreed() })
	if st := late.m.state(s.now); st.Term < 5000 {
		t.Fatalf("joined at term %d", st.Term)
	}
}

// A mesh starting on a loaded machine: each node finds its first peer
// somewhere between one and six seconds after its start, later than the
// bootstrap wait. No node may lead itself while it has no peer (that made
// every node of a 50-node start its own leader at term 1, and a dozen terms
// of merging followed), and the mesh must agree soon after the last node
// connects, in a low term.
func TestSlowDiscoveryDoesNotMakeEveryNodeItsOwnLeader(t *testing.T) {
	const n = 20
	cfg := DefaultConfig()
	s := newSim(t, n, cfg, 21)
	found := make([]time.Duration, n)
	for i, nd := range s.nodes {
		nd.in.ConnectedPeers = 0
		s.group[nd.id] = i + 1 // alone until discovered
		found[i] = time.Second + time.Duration(s.rnd.Int64N(int64(5*time.Second)))
	}
	s.observers = append(s.observers, func() {
		for _, nd := range s.nodes {
			if nd.in.ConnectedPeers == 0 && nd.m.isLeader() {
				t.Fatalf("%s leads itself before it has a peer\n%s", s.name(nd.id), s.dump())
			}
		}
	})
	start := s.now
	s.start()
	for s.now.Sub(start) < 6*time.Second {
		for i, nd := range s.nodes {
			if nd.in.ConnectedPeers == 0 && s.now.Sub(start) >= found[i] {
				nd.in.ConnectedPeers = 5
				delete(s.group, nd.id)
			}
		}
		s.run(s.step)
	}
	s.runUntil(15*time.Second, "agreement after discovery", func() bool { return s.agreed() })
	if term := s.leader().m.state(s.now).Term; term > 3 {
		t.Fatalf("agreed in term %d, want at most 3: the start churned\n%s", term, s.dump())
	}
}

// A starting node whose liveness view knows members whose election traffic
// it has not heard yet (GossipSub's mesh of the election topic still
// forming) must not win its bootstrap candidacy, nor its retries, with its
// own vote: its quorum counts the members its liveness view knows. Once the
// messages flow, the mesh agrees on one leader.
func TestBootstrapCandidateNeedsAMajorityOfTheMembersItKnows(t *testing.T) {
	s := newSim(t, 5, DefaultConfig(), 31)
	for i, nd := range s.nodes {
		s.group[nd.id] = i + 1 // known, but no election message delivered yet
	}
	s.known = func(a, b *simNode) bool { return b.up }
	s.start()
	// Outranked nodes stand rankDelay after their bootstrap deadline.
	s.run(3*time.Second + rankDelay(DefaultConfig()) + time.Second)
	for _, nd := range s.nodes {
		if nd.evs[eventCandidacy+"/"+standBootstrap] == 0 {
			t.Fatalf("%s did not stand: the test tests nothing", s.name(nd.id))
		}
		if nd.m.isLeader() {
			t.Fatalf("%s won a candidacy alone\n%s", s.name(nd.id), s.dump())
		}
	}
	s.heal()
	s.runUntil(40*time.Second, "agreement once messages flow", func() bool { return s.agreed() })
}

// Leaders that come and go while the mesh converges are not flapping; once
// one leadership has lasted, every unplanned change counts.
func TestConvergenceChangesAreNotFlapping(t *testing.T) {
	cfg := DefaultConfig()
	m := newMachine(cfg, simPeer(t, 1), rand.New(rand.NewPCG(1, 2)))
	m.setInputs(healthy())
	now := simEpoch
	m.start(now)
	leaders := []peer.ID{simPeer(t, 2), simPeer(t, 3), simPeer(t, 4), simPeer(t, 5), simPeer(t, 6)}
	for i, l := range leaders {
		m.adopt(now, support{uint64(i + 1), l})
		now = now.Add(2 * time.Second)
	}
	if got := m.state(now).ChangesRecent; got != 0 {
		t.Fatalf("%d recent changes while converging, want 0", got)
	}
	// The last leader lasts; the next two changes are flapping.
	now = now.Add(settleAfter(cfg))
	m.adopt(now, support{10, leaders[0]})
	now = now.Add(2 * time.Second)
	m.adopt(now, support{11, leaders[1]})
	if got := m.state(now).ChangesRecent; got != 2 {
		t.Fatalf("%d recent changes after a settled leadership, want 2", got)
	}
	if got := m.state(now).ChangesTotal; got != 6 {
		t.Fatalf("%d changes in all, want 6 (the first leader is not one)", got)
	}
}

// The PreVote rule, one machine at a time: a leaderless node whose turn to
// stand comes does not open a term if it heard, within a randomised
// timeout, a candidacy of the latest term (whatever the candidate's score:
// it votes for the best one instead) or the heartbeat of the candidate
// that won it; it follows a live claimant that a second member backs.
// Nothing else holds it off: not a candidacy of an older term, not a
// heartbeat nobody backs from a peer it never heard stand.
func TestPreVoteHoldsOffANodeThatHeardAnElection(t *testing.T) {
	self, other := simPeer(t, 1), simPeer(t, 2)
	voters := []peer.ID{simPeer(t, 10), simPeer(t, 11), simPeer(t, 12), simPeer(t, 13), simPeer(t, 14), simPeer(t, 15)}
	cases := []struct {
		name string
		// heard is what the node hears just before its turn to stand,
		// from other, in a mesh whose highest term is 3.
		heard     []wire.Message
		backers   int // voters that back other in term 4
		wantStand bool
		wantBack  bool
	}{
		{"nothing heard", nil, 0, true, false},
		{"a worse candidate of the latest term", []wire.Message{&wire.Candidate{Term: 4, Score: 0.01}}, 0, false, false},
		{"a better candidate of the latest term", []wire.Message{&wire.Candidate{Term: 4, Score: 0.99}}, 0, false, false},
		{"a candidate of an older term", []wire.Message{&wire.Candidate{Term: 2, Score: 0.99}}, 0, true, false},
		// Its own vote, at the window's end, makes the claimant's second
		// backer.
		{"the winner's heartbeat, its votes not yet here", []wire.Message{&wire.Candidate{Term: 4, Score: 0.5}, &wire.Heartbeat{Term: 4, Seq: 1, Score: 0.5}}, 0, false, true},
		{"a heartbeat that one member backs", []wire.Message{&wire.Heartbeat{Term: 4, Seq: 1, Score: 0.5}}, 1, false, true},
		{"a heartbeat nobody backs, no candidacy heard", []wire.Message{&wire.Heartbeat{Term: 4, Seq: 1, Score: 0.5}}, 0, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMachine(DefaultConfig(), self, rand.New(rand.NewPCG(1, 2)))
			in := healthy()
			in.Members = 8 // self, other and the six voters
			m.setInputs(in)
			now := simEpoch
			m.start(now)
			send := func(from peer.ID, msg wire.Message) {
				msg.Head().Stamp(from, now)
				m.step(now, from, msg)
			}
			// An earlier election's leader, gone: the mesh is at term 3
			// and this node has no leader.
			m.maxTerm, m.lastVoted = 3, 3
			for i, v := range voters {
				var msg wire.Message = &wire.Vote{Term: 0}
				if i < c.backers {
					msg = &wire.Vote{Term: 4, Candidate: other}
				}
				send(v, msg)
			}
			// Its turn to stand comes in 1 s.
			m.nextStand, m.standWhy = now.Add(time.Second), standTimeout
			m.ready()
			now = now.Add(500 * time.Millisecond)
			for _, msg := range c.heard {
				send(other, msg)
			}
			var out []wire.Message
			var evs []event
			for range 15 { // 1.5 s: past its turn, within the timeout
				now = now.Add(100 * time.Millisecond)
				m.tick(now)
				o, e := m.ready()
				out, evs = append(out, o...), append(evs, e...)
			}
			stood := slices.ContainsFunc(out, func(msg wire.Message) bool { _, ok := msg.(*wire.Candidate); return ok })
			backed := slices.Contains(evs, event{eventBacked, ""})
			if stood != c.wantStand || backed != c.wantBack {
				t.Fatalf("stood %v, followed %v; want %v, %v", stood, backed, c.wantStand, c.wantBack)
			}
			if backed && (!m.haveLeader || m.leader != other) {
				t.Fatal("backed the claimant but does not follow it")
			}
		})
	}
}

// A node held off by a candidacy that produced no leader stands after its
// randomised timeout: the rule delays a retry, it never blocks one.
func TestPreVoteHoldsOffForOneTimeoutOnly(t *testing.T) {
	cfg := DefaultConfig()
	m := newMachine(cfg, simPeer(t, 1), rand.New(rand.NewPCG(1, 2)))
	m.setInputs(healthy())
	now := simEpoch
	m.start(now)
	m.nextStand, m.standWhy = now, standTimeout
	c := &wire.Candidate{Term: 1, Score: 0.5}
	c.Head().Stamp(simPeer(t, 2), now)
	m.step(now, simPeer(t, 2), c)
	m.ready()
	limit := now.Add(time.Duration(float64(cfg.HeartbeatTimeout)*(1+cfg.TimeoutJitter)) + 100*time.Millisecond)
	for now.Before(limit) {
		now = now.Add(100 * time.Millisecond)
		m.tick(now)
		out, _ := m.ready()
		for _, msg := range out {
			if cand, ok := msg.(*wire.Candidate); ok {
				if cand.Term != 2 || now.Sub(simEpoch) < cfg.HeartbeatTimeout {
					t.Fatalf("stood in term %d after %v", cand.Term, now.Sub(simEpoch))
				}
				return
			}
		}
	}
	t.Fatal("never stood after the failed election")
}

// Nodes starting at once stand in rank order: the node no peer outranks
// stands at its bootstrap deadline and the others, rankDelay later, find
// it leading. Without the order the node with the earliest (random)
// deadline stood first, and on a loaded machine nearly all of them did.
func TestStartingMeshStandsInRankOrder(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		s := newSim(t, 9, DefaultConfig(), seed)
		s.start()
		s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
		for _, nd := range s.nodes {
			stood := nd.evs[eventCandidacy+"/"+standBootstrap]
			if best := nd.in.Outranked == 0; stood != map[bool]int{true: 1, false: 0}[best] {
				t.Fatalf("seed %d: %s (outranked by %d) stood %d times at bootstrap; want only the best-placed node, once\n%s",
					seed, s.name(nd.id), nd.in.Outranked, stood, s.dump())
			}
		}
	}
}

// The bootstrap wait runs from the first member the node knows, not from
// its start: until then nothing a node says at start can be heard.
func TestBootstrapWaitRunsFromTheFirstMember(t *testing.T) {
	cfg := DefaultConfig()
	m := newMachine(cfg, simPeer(t, 1), rand.New(rand.NewPCG(1, 2)))
	in := healthy()
	in.ConnectedPeers, in.Members = 5, 1
	m.setInputs(in)
	now := simEpoch
	m.start(now)
	tick := func(d time.Duration) (stood bool) {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(100 * time.Millisecond)
			m.tick(now)
			_, evs := m.ready()
			stood = stood || slices.Contains(evs, event{eventCandidacy, standBootstrap})
		}
		return stood
	}
	if tick(4 * time.Second) {
		t.Fatal("stood before it knew any member")
	}
	in.Members = 5
	m.setInputs(in)
	waitMax := cfg.BootstrapWait + time.Duration(cfg.TimeoutJitter*float64(cfg.BootstrapWait))
	if !tick(waitMax + rankDelay(cfg) + time.Second) {
		t.Fatal("did not stand within the bootstrap wait (and rank delay) of its first member")
	}
}

// A follower that hears a candidacy while its leader still counts as
// alive (the leader died; another follower timed out first) does not open
// a term above it when its own timeout comes: it votes in that election.
func TestFollowerHoldsOffAfterACandidacyHeardWhileFollowing(t *testing.T) {
	cfg := DefaultConfig()
	self, leader, first := simPeer(t, 1), simPeer(t, 2), simPeer(t, 3)
	m := newMachine(cfg, self, rand.New(rand.NewPCG(1, 2)))
	m.setInputs(healthy())
	now := simEpoch
	m.start(now)
	m.adopt(now, support{1, leader})
	// The leader's last heartbeat; then another follower stands, 2.9 s
	// later, just before this node's own timeout.
	hb := &wire.Heartbeat{Term: 1, Seq: 1, Score: 0.5}
	hb.Head().Stamp(leader, now)
	m.step(now, leader, hb)
	now = now.Add(2900 * time.Millisecond)
	c := &wire.Candidate{Term: 2, Score: 0.1}
	c.Head().Stamp(first, now)
	m.step(now, first, c)
	m.ready()
	for range 30 { // 3 s: its timeout, the window, its vote
		now = now.Add(100 * time.Millisecond)
		m.tick(now)
		out, _ := m.ready()
		for _, msg := range out {
			if cand, ok := msg.(*wire.Candidate); ok {
				t.Fatalf("stood in term %d, above the election it heard", cand.Term)
			}
		}
	}
	if m.haveLeader {
		t.Fatal("still follows the dead leader")
	}
}
