package election

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

// sim runs machines on a simulated mesh with a simulated clock: every
// timing rule is exercised deterministically, without goroutines or sleeps.
// Messages go through wire.Encode/Decode, so the machine only ever produces
// what peers accept.
type sim struct {
	t       testing.TB
	now     time.Time
	step    time.Duration
	latency time.Duration
	rnd     *rand.Rand
	nodes   []*simNode
	flight  []delivery
	// group assigns each node to a side of a partition; nodes talk only
	// within their group.
	group map[peer.ID]int
	// observers see the state after every step.
	observers []func()
	// linkFilter, when set, drops a message of from to to (and hides
	// from in to's view) when it returns false: links cut one by one
	// rather than by sides.
	linkFilter func(to, from *simNode) bool
	// trace logs every message and event, for debugging a scenario.
	trace bool
	// loss is the probability that one delivery to one node is dropped.
	loss float64
	// known decides whether a's liveness view holds b alive: by default b
	// is up and reachable (every topic's traffic reaches a over gossip).
	// Each tick sets a node's inputs.Members and Outranked from it.
	known func(a, b *simNode) bool
	// noLiveness leaves inputs.Members and Outranked to the test.
	noLiveness bool
	// suspicion, when set, is how long a killed node stays suspect in
	// every view before the view holds it dead, as a real liveness view's
	// suspicion timeout does; by default views forget it at once.
	suspicion time.Duration
	killedAt  map[peer.ID]time.Time
}

type simNode struct {
	id   peer.ID
	m    *machine
	up   bool
	in   inputs
	sent []wire.Message
	evs  map[string]int // kind/reason -> count
}

type delivery struct {
	at   time.Time
	from peer.ID
	data []byte
}

var simEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func simPeer(t testing.TB, seed uint64) peer.ID {
	t.Helper()
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	sk, _, err := crypto.GenerateEd25519Key(rand.NewChaCha8(key))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func healthy() inputs {
	return inputs{Status: "healthy", HealthScore: 1, ConnectedPeers: 8, Headroom: 1}
}

// newSim makes n nodes (not started) with the default configuration.
func newSim(t testing.TB, n int, cfg Config, seed uint64) *sim {
	s := &sim{t: t, now: simEpoch, step: 10 * time.Millisecond, latency: 5 * time.Millisecond,
		rnd: rand.New(rand.NewPCG(seed, 1)), group: map[peer.ID]int{}}
	for i := range n {
		s.add(cfg, uint64(i+1))
	}
	// Connected to every other node, as on a LAN.
	for _, nd := range s.nodes {
		nd.in.ConnectedPeers = max(n-1, 1)
	}
	return s
}

// observe sets what nd's liveness view knows: the members and its rank
// among them.
func (s *sim) observe(nd *simNode) {
	if s.noLiveness {
		return
	}
	var ids []peer.ID
	for _, o := range s.nodes {
		if o == nd {
			continue
		}
		if s.known != nil && s.known(nd, o) || s.known == nil && (o.up && s.reachable(nd.id, o.id) || s.suspected(o.id)) {
			ids = append(ids, o.id)
		}
	}
	nd.in.Members = len(ids) + 1
	nd.in.Suspects = 0
	for _, id := range ids {
		if s.suspected(id) {
			nd.in.Suspects++
		}
	}
	if s.suspicion > 0 {
		nd.in.Suspected = func(id peer.ID) bool { return s.suspected(id) }
		nd.in.Gone = func(id peer.ID) bool {
			at, ok := s.killedAt[id]
			return ok && s.now.Sub(at) > s.suspicion
		}
	}
	if nd.m.starting() {
		nd.in.Outranked = outranked(nd.id, ids)
	}
}

func (s *sim) add(cfg Config, seed uint64) *simNode {
	id := simPeer(s.t, seed)
	nd := &simNode{id: id, m: newMachine(cfg, id, rand.New(rand.NewPCG(seed, 2))), in: healthy(), evs: map[string]int{}}
	s.nodes = append(s.nodes, nd)
	return nd
}

func (s *sim) start(nodes ...*simNode) {
	if len(nodes) == 0 {
		nodes = s.nodes
	}
	for _, nd := range nodes {
		nd.up = true
		s.observe(nd)
		nd.m.setInputs(nd.in)
		nd.m.start(s.now)
	}
}

func (s *sim) reachable(a, b peer.ID) bool {
	if s.group[a] != s.group[b] {
		return false
	}
	if s.linkFilter != nil {
		return s.linkFilter(s.node(a), s.node(b))
	}
	return true
}

func (s *sim) node(id peer.ID) *simNode {
	for _, nd := range s.nodes {
		if nd.id == id {
			return nd
		}
	}
	return nil
}

// collect takes a node's output onto the simulated wire.
func (s *sim) collect(nd *simNode) {
	out, evs := nd.m.ready()
	for _, e := range evs {
		nd.evs[e.kind+"/"+e.reason]++
		if s.trace {
			s.t.Logf("%v %s %s/%s", s.now.Sub(simEpoch), s.name(nd.id), e.kind, e.reason)
		}
	}
	for _, msg := range out {
		data, err := wire.Encode(msg)
		if err != nil {
			s.t.Fatalf("%s produced a message peers would reject: %v", s.name(nd.id), err)
		}
		nd.sent = append(nd.sent, msg)
		if s.trace {
			s.t.Logf("%v %s sends %s", s.now.Sub(simEpoch), s.name(nd.id), s.describe(msg))
		}
		jitter := time.Duration(s.rnd.Int64N(int64(s.latency) + 1))
		s.flight = append(s.flight, delivery{at: s.now.Add(s.latency + jitter), from: nd.id, data: data})
	}
}

// inject puts raw bytes on the wire as if from, to everyone reachable.
func (s *sim) inject(from peer.ID, msg wire.Message) {
	msg.Head().Stamp(from, s.now)
	data, err := wire.Encode(msg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.flight = append(s.flight, delivery{at: s.now.Add(s.latency), from: from, data: data})
}

// run advances the simulation by d.
func (s *sim) run(d time.Duration) {
	end := s.now.Add(d)
	for s.now.Before(end) {
		s.now = s.now.Add(s.step)
		sort.SliceStable(s.flight, func(i, j int) bool { return s.flight[i].at.Before(s.flight[j].at) })
		// Messages sent while delivering land in s.flight anew.
		flight := s.flight
		s.flight = nil
		for _, dl := range flight {
			if dl.at.After(s.now) {
				s.flight = append(s.flight, dl)
				continue
			}
			msg, err := wire.Decode(wire.TopicElection, dl.data)
			if err != nil {
				s.t.Fatalf("undecodable message on the wire: %v", err)
			}
			for _, nd := range s.nodes {
				if !nd.up || nd.id == dl.from || !s.reachable(nd.id, dl.from) {
					continue
				}
				if s.loss > 0 && s.rnd.Float64() < s.loss {
					continue
				}
				nd.m.step(s.now, dl.from, msg)
				s.collect(nd)
			}
		}
		for _, nd := range s.nodes {
			if nd.up {
				s.observe(nd)
				nd.m.setInputs(nd.in)
				nd.m.tick(s.now)
				s.collect(nd)
			}
		}
		for _, o := range s.observers {
			o()
		}
	}
}

// runUntil advances until cond holds, failing after limit.
func (s *sim) runUntil(limit time.Duration, what string, cond func() bool) time.Duration {
	s.t.Helper()
	start := s.now
	for !cond() {
		if s.now.Sub(start) > limit {
			s.t.Fatalf("after %v: %s never happened\n%s", limit, what, s.dump())
		}
		s.run(s.step)
	}
	return s.now.Sub(start)
}

func (s *sim) kill(nd *simNode) {
	nd.up = false
	if s.killedAt == nil {
		s.killedAt = map[peer.ID]time.Time{}
	}
	s.killedAt[nd.id] = s.now
}

// suspected reports whether id was killed less than the suspicion timeout
// ago: the views still count it, under suspicion.
func (s *sim) suspected(id peer.ID) bool {
	at, ok := s.killedAt[id]
	return ok && s.suspicion > 0 && s.now.Sub(at) <= s.suspicion
}

// partition splits the mesh: each argument is one side.
func (s *sim) partition(sides ...[]*simNode) {
	for i, side := range sides {
		for _, nd := range side {
			s.group[nd.id] = i + 1
		}
	}
}

func (s *sim) heal() { s.group = map[peer.ID]int{} }

func (s *sim) live(nodes []*simNode) []*simNode {
	var out []*simNode
	for _, nd := range nodes {
		if nd.up {
			out = append(out, nd)
		}
	}
	return out
}

// agreed reports whether every live node among nodes (all by default)
// follows the same leader in the same term, and that leader is exactly one
// of them.
func (s *sim) agreed(nodes ...*simNode) bool {
	if len(nodes) == 0 {
		nodes = s.nodes
	}
	nodes = s.live(nodes)
	first := nodes[0].m.state(s.now)
	if !first.HaveLeader {
		return false
	}
	leaders := 0
	for _, nd := range nodes {
		st := nd.m.state(s.now)
		if !st.HaveLeader || st.Leader != first.Leader || st.Term != first.Term {
			return false
		}
		if st.IsLeader {
			leaders++
		}
	}
	return leaders == 1
}

func (s *sim) leader(nodes ...*simNode) *simNode {
	if len(nodes) == 0 {
		nodes = s.nodes
	}
	for _, nd := range s.live(nodes) {
		if nd.m.isLeader() {
			return nd
		}
	}
	return nil
}

func (s *sim) leaders(nodes []*simNode) []string {
	var out []string
	for _, nd := range s.live(nodes) {
		if nd.m.isLeader() {
			out = append(out, s.name(nd.id))
		}
	}
	return out
}

func (s *sim) name(id peer.ID) string {
	for i, nd := range s.nodes {
		if nd.id == id {
			return fmt.Sprintf("n%d", i)
		}
	}
	return id.ShortString()
}

func (s *sim) dump() string {
	out := ""
	for i, nd := range s.nodes {
		st := nd.m.state(s.now)
		out += fmt.Sprintf("n%d up=%v group=%d leader=%s term=%d is=%v members=%d maxTerm=%d voted=%d events=%v\n",
			i, nd.up, s.group[nd.id], s.name(peer.ID(mustDecode(st.Leader))), st.Term, st.IsLeader, st.Members,
			nd.m.maxTerm, nd.m.lastVoted, nd.evs)
	}
	return out
}

func mustDecode(s string) peer.ID {
	if s == "" {
		return ""
	}
	id, err := peer.Decode(s)
	if err != nil {
		panic(err)
	}
	return id
}

func (s *sim) describe(msg wire.Message) string {
	switch m := msg.(type) {
	case *wire.Heartbeat:
		return fmt.Sprintf("heartbeat term %d seq %d", m.Term, m.Seq)
	case *wire.Candidate:
		return fmt.Sprintf("candidate term %d score %.3f", m.Term, m.Score)
	case *wire.Vote:
		return fmt.Sprintf("vote term %d for %s", m.Term, s.name(m.Candidate))
	case *wire.Resign:
		return fmt.Sprintf("resign term %d", m.Term)
	}
	return fmt.Sprintf("%T", msg)
}
