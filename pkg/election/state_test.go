package election

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestJitterIsMeanAbsoluteDeviationFromTheInterval(t *testing.T) {
	m := newMachine(DefaultConfig(), simPeer(t, 1), rand.New(rand.NewPCG(1, 1)))
	m.start(simEpoch)
	at := simEpoch
	for _, gap := range []time.Duration{time.Second, 1200 * time.Millisecond, 800 * time.Millisecond, time.Second} {
		at = at.Add(gap)
		m.recordGap(at)
	}
	// The first heartbeat has no gap; the others deviate 200, 200, 0 ms.
	if got, want := m.jitter(), 400*time.Millisecond/3; got != want {
		t.Fatalf("jitter %v, want %v", got, want)
	}
	if st := m.state(at.Add(500 * time.Millisecond)); st.HeartbeatAge != 500*time.Millisecond || !st.LastHeartbeat.Equal(at) {
		t.Fatalf("age %v since %v", st.HeartbeatAge, st.LastHeartbeat)
	}
}

func TestHeartbeatAgeCountsFromStartBeforeAnyLeader(t *testing.T) {
	m := newMachine(DefaultConfig(), simPeer(t, 1), rand.New(rand.NewPCG(1, 1)))
	m.start(simEpoch)
	if st := m.state(simEpoch.Add(time.Second)); st.HeartbeatAge != time.Second || st.HaveLeader {
		t.Fatalf("state %+v", st)
	}
}

func TestRecentChangesForgetTheOldWindow(t *testing.T) {
	s := newSim(t, 3, DefaultConfig(), 2)
	s.start()
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	nd := s.nodes[0]
	if st := nd.m.state(s.now); st.ChangesRecent != 0 || st.ChangesTotal != 0 {
		t.Fatalf("after the first election: %d recent, %d total; the first leader is not a change", st.ChangesRecent, st.ChangesTotal)
	}
	if s.leader() == nd {
		nd = s.nodes[1]
	}
	// A leadership that lasted: its loss is a change that counts.
	s.run(settleAfter(DefaultConfig()))
	s.kill(s.leader())
	s.runUntil(20*time.Second, "a new leader", func() bool { return s.agreed() })
	if st := nd.m.state(s.now); st.ChangesRecent != 1 || st.ChangesTotal != 1 {
		t.Fatalf("after a failover: %d recent, %d total", st.ChangesRecent, st.ChangesTotal)
	}
	later := s.now.Add(DefaultConfig().ChangeWindow + time.Second)
	if st := nd.m.state(later); st.ChangesRecent != 0 || st.ChangesTotal != 1 {
		t.Fatalf("a window later: %d recent, %d total", st.ChangesRecent, st.ChangesTotal)
	}
}

func TestNextWakesForTheEarliestDuty(t *testing.T) {
	s := newSim(t, 3, DefaultConfig(), 2)
	s.start()
	cfg := DefaultConfig()
	if next := s.nodes[0].m.next(s.now); next.Sub(s.now) > cfg.HeartbeatInterval/2 {
		t.Fatalf("sleeps %v at start, more than half an interval", next.Sub(s.now))
	}
	s.runUntil(20*time.Second, "agreement", func() bool { return s.agreed() })
	l := s.leader()
	if next := l.m.next(s.now); next.After(l.m.lastSent.Add(cfg.HeartbeatInterval)) {
		t.Fatalf("the leader wakes at %v, after its next heartbeat is due", next.Sub(l.m.lastSent))
	}
}
