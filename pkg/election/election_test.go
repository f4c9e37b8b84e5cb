package election

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

func TestMocknetMeshAgreesOnOneLeader(t *testing.T) {
	for _, n := range []int{5, 9} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := newCluster(t, n, 0, fastConfig())
			c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
			l := c.leader()
			if v := counter(t, l.reg, "meshhealth_election_is_leader", nil); v != 1 {
				t.Fatalf("leader exports is_leader %v", v)
			}
			if v := counter(t, l.reg, "meshhealth_election_term", nil); v != float64(l.e.State().Term) {
				t.Fatalf("leader exports term %v, state says %d", v, l.e.State().Term)
			}
			// Followers re-send their vote every member_ttl/3, so even a
			// node whose first messages were lost is soon counted by all.
			c.eventually("every node counts every member", 10*time.Second, func() bool {
				for _, nd := range c.elections() {
					if nd.e.State().Members != n {
						return false
					}
				}
				return true
			})
		})
	}
}

func TestMocknetKilledLeaderIsReplacedInAHigherTerm(t *testing.T) {
	c := newCluster(t, 5, 0, fastConfig())
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	old := c.leader()
	oldTerm := old.e.State().Term
	c.kill(old)
	c.eventually("a new leader", 15*time.Second, func() bool { return c.agreed() })
	if st := c.leader().e.State(); st.Term <= oldTerm {
		t.Fatalf("new leader in term %d, want above %d", st.Term, oldTerm)
	}
}

func TestMocknetGracefulResignHandsOverWithoutTheTimeout(t *testing.T) {
	cfg := fastConfig()
	// A long timeout, so that a hand-over through it would be obvious.
	cfg.HeartbeatTimeout = 5 * time.Second
	cfg.MemberTTL = 10 * time.Second
	c := newCluster(t, 5, 0, cfg)
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	old := c.leader()
	oldTerm := old.e.State().Term

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resigned := time.Now()
	if err := old.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if old.e.State().IsLeader {
		t.Fatal("still leading after Resign returned")
	}
	c.eventually("a new leader", cfg.HeartbeatTimeout, func() bool {
		l := c.leader()
		return l != nil && l != old && c.agreed()
	})
	took := time.Since(resigned)
	if st := c.leader().e.State(); st.Term <= oldTerm {
		t.Fatalf("term %d after the hand-over, want above %d", st.Term, oldTerm)
	}
	for _, nd := range c.elections() {
		if v := counter(t, nd.reg, "meshhealth_election_candidacies_total", map[string]string{"trigger": standTimeout}); v != 0 {
			t.Fatalf("%s stood on a timeout: the hand-over waited for it", nd.host.ID().ShortString())
		}
	}
	if v := counter(t, old.reg, "meshhealth_election_step_downs_total", map[string]string{"cause": downResign}); v != 1 {
		t.Fatalf("step_downs_total{cause=resign} = %v on the old leader", v)
	}
	t.Logf("new leader %v after Resign (heartbeat timeout %v)", took, cfg.HeartbeatTimeout)
}

func TestMocknetPartitionHasOneLeaderPerSideAndHealsToOne(t *testing.T) {
	cfg := fastConfig()
	c := newCluster(t, 5, 0, cfg)
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	l := c.leader()
	a := []*clusterNode{l}
	var b []*clusterNode
	for _, nd := range c.elections() {
		if nd != l {
			if len(a) < 2 {
				a = append(a, nd)
			} else {
				b = append(b, nd)
			}
		}
	}
	c.cut(a, b)

	// Watch both sides while the partition lasts. Two nodes may both
	// believe they lead for the moment a heartbeat takes to settle it;
	// longer is a failure.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failure string
	wg.Add(1)
	go func() {
		defer wg.Done()
		var since time.Time
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			two := c.leaders(a) > 1 || c.leaders(b) > 1
			switch {
			case !two:
				since = time.Time{}
			case since.IsZero():
				since = time.Now()
			case time.Since(since) > 5*cfg.HeartbeatInterval && failure == "":
				failure = "two leaders on one side:\n" + c.dump()
			}
		}
	}()
	c.eventually("one leader on each side", 20*time.Second, func() bool { return c.agreed(a...) && c.agreed(b...) })
	close(stop)
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
	c.join(a, b)
	c.eventually("one leader for all after the heal", 20*time.Second, func() bool { return c.agreed() })
}

func TestMocknetForgedHeartbeatIsIgnored(t *testing.T) {
	c := newCluster(t, 5, 1, fastConfig())
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	l := c.leader()
	before := l.e.State()
	rogue := c.raw()[0]
	for i := range 10 {
		term := before.Term
		if i%2 == 1 {
			term += 5 // and a higher term, which a naive "higher term wins" would obey
		}
		hb := &wire.Heartbeat{Term: term, Seq: uint64(i + 1), Score: 1}
		hb.Stamp(rogue.host.ID(), time.Now())
		data, err := wire.Encode(hb)
		if err != nil {
			t.Fatal(err)
		}
		c.publishRaw(rogue, data)
		time.Sleep(fastConfig().HeartbeatInterval)
	}
	for _, nd := range c.elections() {
		c.eventually("forged heartbeats counted as ignored", 5*time.Second, func() bool {
			return counter(t, nd.reg, "meshhealth_election_ignored_total", map[string]string{"reason": ignoredNotLeader}) > 0
		})
	}
	if !c.agreed() || c.leader() != l {
		t.Fatalf("a forged heartbeat moved leadership\n%s", c.dump())
	}
	if st := l.e.State(); st.Term != before.Term || st.ChangesTotal != before.ChangesTotal {
		t.Fatalf("term %d -> %d, changes %d -> %d", before.Term, st.Term, before.ChangesTotal, st.ChangesTotal)
	}
}

func TestMocknetMalformedElectionMessagesAreRejectedAndCounted(t *testing.T) {
	c := newCluster(t, 3, 1, fastConfig())
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	l := c.leader()
	rogue := c.raw()[0]
	victim := c.elections()[0]
	now := time.Now()
	stamp := func(m wire.Message, origin peer.ID, at time.Time) []byte {
		m.Head().Stamp(origin, at)
		data, err := wire.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	bad := map[string][]byte{
		wire.ReasonMalformed:   []byte(`{"v":1,"type":"heartbeat","term":"one"}`),
		wire.ReasonOversized:   make([]byte, wire.MaxSize+1),
		wire.ReasonBadVersion:  []byte(`{"v":2,"type":"heartbeat"}`),
		wire.ReasonUnknownType: []byte(`{"v":1,"type":"abdicate"}`),
		// Signed by the rogue, claiming to come from the leader.
		wire.ReasonWrongOrigin: stamp(&wire.Resign{Term: l.e.State().Term}, l.host.ID(), now),
		wire.ReasonStale:       stamp(&wire.Vote{Term: 1, Candidate: rogue.host.ID()}, rogue.host.ID(), now.Add(-time.Hour)),
	}
	for _, data := range bad {
		c.publishRaw(rogue, data)
	}
	replay := stamp(&wire.Vote{Term: 1, Candidate: rogue.host.ID()}, rogue.host.ID(), now)
	c.publishRaw(rogue, replay)
	c.publishRaw(rogue, replay)

	for reason := range bad {
		c.eventually("rejection counted: "+reason, 5*time.Second, func() bool {
			return counter(t, victim.reg, "meshhealth_pubsub_rejected_total",
				map[string]string{"topic": wire.TopicElection, "reason": reason}) == 1
		})
	}
	c.eventually("replay counted", 5*time.Second, func() bool {
		return counter(t, victim.reg, "meshhealth_pubsub_rejected_total",
			map[string]string{"topic": wire.TopicElection, "reason": wire.ReasonReplayed}) == 1
	})
	time.Sleep(5 * fastConfig().HeartbeatInterval)
	if !c.agreed() || c.leader() != l {
		t.Fatalf("rejected messages moved leadership\n%s", c.dump())
	}
}

func TestMocknetFrozenHeartbeatsGetTheLeaderReplaced(t *testing.T) {
	c := newCluster(t, 5, 0, fastConfig())
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	old := c.leader()
	oldTerm := old.e.State().Term
	old.e.FreezeHeartbeats(true)
	others := []*clusterNode{}
	for _, nd := range c.elections() {
		if nd != old {
			others = append(others, nd)
		}
	}
	c.eventually("the others elect a new leader", 15*time.Second, func() bool {
		return c.agreed(others...) && c.leader(others...).e.State().Term > oldTerm
	})
	c.eventually("the frozen leader learns it was replaced", 15*time.Second, func() bool { return !old.e.State().IsLeader })
	old.e.FreezeHeartbeats(false)
	c.eventually("everyone agrees again", 15*time.Second, func() bool { return c.agreed() })
}

func TestMocknetUnhealthyLeaderResigns(t *testing.T) {
	c := newCluster(t, 3, 0, fastConfig())
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	old := c.leader()
	old.view.setStatus("unhealthy")
	c.eventually("another leader", 15*time.Second, func() bool { return c.agreed() && c.leader() != old })
	if v := counter(t, old.reg, "meshhealth_election_step_downs_total", map[string]string{"cause": downUnhealthy}); v != 1 {
		t.Fatalf("step_downs_total{cause=unhealthy} = %v", v)
	}
}

func TestSubscribeReportsLeaderChanges(t *testing.T) {
	c := newCluster(t, 3, 0, fastConfig())
	nd := c.elections()[0]
	got := make(chan State, 16)
	cancel := nd.e.Subscribe(func(st State) {
		select {
		case got <- st:
		default:
		}
	})
	defer cancel()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case st := <-got:
			if st.HaveLeader && st.Leader != "" {
				return
			}
		case <-deadline:
			t.Fatal("no state with a leader delivered")
		}
	}
}

func TestLifecycleEdges(t *testing.T) {
	c := newCluster(t, 1, 0, fastConfig())
	nd := c.elections()[0]
	if err := nd.e.Start(context.Background()); err == nil {
		t.Fatal("a second Start succeeded")
	}
	c.eventually("a one-node mesh leads itself", 10*time.Second, func() bool { return nd.e.State().IsLeader })
	cancel := nd.e.Subscribe(func(State) {})
	if err := nd.e.Close(); err != nil {
		t.Fatal(err)
	}
	cancel() // after Close: must not block or panic
	if err := nd.e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := nd.e.Resign(context.Background()); err != nil {
		t.Fatalf("Resign after Close: %v", err)
	}
	nd.e.FreezeHeartbeats(true) // must not block

	// The topic and validator are free again: a new election can take them.
	e, err := New(fastConfig(), nd.ps, nd.host.ID(), nd.view, nd.wm, nd.reg, nil)
	if err != nil {
		t.Fatalf("a new election on the same pubsub and registry: %v", err)
	}
	if err := e.Close(); err != nil { // closed without ever starting
		t.Fatal(err)
	}
}

func TestNewRefusesAnInvalidConfig(t *testing.T) {
	c := newCluster(t, 0, 1, fastConfig())
	raw := c.raw()[0]
	cfg := fastConfig()
	cfg.HeartbeatTimeout = cfg.HeartbeatInterval
	if _, err := New(cfg, raw.ps, raw.host.ID(), newFakeView(), nil, nil, nil); err == nil {
		t.Fatal("accepted heartbeat_timeout == heartbeat_interval")
	}
}

func TestWrapValidatorSeesElectionTraffic(t *testing.T) {
	var accepted atomic.Int64
	wrap := WrapValidator(func(next pubsub.ValidatorEx) pubsub.ValidatorEx {
		return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
			res := next(ctx, from, msg)
			if res == pubsub.ValidationAccept {
				accepted.Add(1)
			}
			return res
		}
	})
	c := newCluster(t, 3, 0, fastConfig(), wrap)
	c.eventually("one agreed leader", 15*time.Second, func() bool { return c.agreed() })
	if accepted.Load() == 0 {
		t.Fatal("the wrapper never saw an accepted election message")
	}
}
