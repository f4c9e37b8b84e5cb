package election

import (
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/status"
)

// support is what a member backs: a candidate for a term.
type support struct {
	term uint64
	cand peer.ID
}

func (s support) none() bool { return s.cand == "" }

// member is what the machine knows of one peer heard on the topic.
type member struct {
	lastHeard time.Time
	// vote is the member's latest support, ordered by its author's ts:
	// gossip may reorder messages, one author's clock does not.
	vote   support
	voteTS int64
	// The member's latest leadership claim (a Heartbeat) and candidacy.
	hbTerm   uint64
	hbAt     time.Time
	hbScore  float64
	candTerm uint64
	candAt   time.Time
	resigned uint64 // highest term it resigned from
}

// pendingElection is the highest-term election this node has seen and not
// voted in yet.
type pendingElection struct {
	term  uint64
	start time.Time
	cands map[peer.ID]float64
}

// Event kinds the driver turns into metrics and logs.
const (
	eventIgnored   = "ignored"   // a message that changed nothing, by reason
	eventCandidacy = "candidacy" // this node stood, by trigger
	eventStepDown  = "step_down" // this node stopped leading, by cause
	eventChange    = "change"    // a new (leader, term) was adopted
	eventBacked    = "backed"    // leaderless, this node followed a live claimant before counting its majority
)

// Ignore reasons, values of meshhealth_election_ignored_total{reason}.
const (
	ignoredNotLeader = "not_leader" // a heartbeat or resign from a peer that is not our leader
	ignoredStaleTerm = "stale_term" // a candidacy for a term already voted in, or an old heartbeat
	ignoredSticky    = "sticky"     // a vote withheld: the known leader is alive
	ignoredTermJump  = "term_jump"  // a candidacy for a term no honest peer could have reached
)

// Candidacy triggers and step-down causes.
const (
	standBootstrap = "bootstrap"
	standTimeout   = "timeout"
	standResign    = "resign"
	standRetry     = "retry" // the previous election produced no leader

	downResign    = "resign"
	downUnhealthy = "unhealthy"
	downLost      = "lost_majority"
	downOutranked = "outranked" // another leader won by majority or by the two-leaders rule
)

type event struct {
	kind, reason string
}

// machine is the election's decision logic. It does no I/O and reads no
// clock: the driver feeds it messages (step), the passage of time (tick)
// and local facts (setInputs), and takes its output (ready).
type machine struct {
	cfg     Config
	self    peer.ID
	rnd     *rand.Rand
	started time.Time
	in      inputs

	members   map[peer.ID]*member
	maxTerm   uint64          // highest term seen anywhere
	lastVoted uint64          // highest term this node voted (or declined to vote) in
	stoodTerm uint64          // highest term this node stood in
	stood     map[uint64]bool // recent terms this node stood in
	pending   *pendingElection

	// The leader this node follows, or itself.
	haveLeader  bool
	leader      peer.ID
	leaderTerm  uint64
	leaderSince time.Time
	lastHB      time.Time // last counted heartbeat (sent, when leading)
	timeout     time.Duration
	nextStand   time.Time // when leaderless: stand at or after this
	heldUntil   time.Time // PreVote: open no term before this (holdOff)
	standWhy    string
	lastEndorse time.Time
	// firstPeer is when the node first knew another member; the
	// bootstrap wait runs from there.
	firstPeer time.Time

	// Leading.
	seq          uint64
	lastSent     time.Time
	frozen       bool
	lostSince    time.Time // when our majority lapsed; zero while we hold it
	steppedDown  uint64    // highest term we stopped leading: never lead it again
	resignedTerm uint64    // highest term we resigned from (told the mesh)
	withdrawn    bool      // Resign was called: never stand again

	// Reporting.
	lastHeartbeat time.Time       // last counted heartbeat, of any leader
	gapBase       time.Time       // previous heartbeat of the current leader
	gaps          []time.Duration // its recent inter-arrival times
	lastAdopted   support
	changes       []time.Time // adoptions within the change window
	// settled is set once a leadership this node followed lasted
	// settleAfter: changes before that are the mesh converging, not
	// flapping.
	settled      bool
	changesTotal uint64

	out    []wire.Message
	events []event
}

const maxGaps = 16

// aloneFactor stretches the bootstrap wait of a node that knows no other
// member at all: it stands (and leads itself) after aloneFactor
// bootstrap waits. A node that is starting alongside others usually has a
// peer long before that; a node that is really alone leads itself a few
// seconds later than it would otherwise, which nobody waits on.
const aloneFactor = 5

// maxStoodTerms bounds the memory of terms stood in.
const maxStoodTerms = 8

func newMachine(cfg Config, self peer.ID, rnd *rand.Rand) *machine {
	return &machine{cfg: cfg, self: self, rnd: rnd, members: map[peer.ID]*member{}, stood: map[uint64]bool{}}
}

// start begins the bootstrap wait.
func (m *machine) start(now time.Time) {
	m.started = now
	m.members[m.self] = &member{lastHeard: now}
	m.nextStand, m.standWhy = now.Add(m.cfg.BootstrapWait), standBootstrap
}

func (m *machine) setInputs(in inputs) { m.in = in }

// freeze stops (or resumes) heartbeats while the node keeps believing it
// leads: the freeze-heartbeats fault.
func (m *machine) freeze(on bool) { m.frozen = on }

// ready hands over what the machine produced since the last call.
func (m *machine) ready() ([]wire.Message, []event) {
	out, ev := m.out, m.events
	m.out, m.events = nil, nil
	return out, ev
}

func (m *machine) isLeader() bool { return m.haveLeader && m.leader == m.self }

func (m *machine) canStand() bool {
	return !m.withdrawn && m.in.Status != status.Unhealthy && m.in.Status != status.Stopping
}

func (m *machine) score(now time.Time) float64 {
	return candidateScore(m.self, m.in, now.Sub(m.started), m.memberCount())
}

// memberCount is the denominator of every majority: the members heard on
// the election topic or known to the node's liveness view, whichever is
// more. The liveness view hears every meshhealth topic over multi-hop
// gossip, so a starting node knows the mesh before anyone has said a word
// on the election topic; the election's own count covers a node without
// a view (and the moments a view lags behind the topic).
func (m *machine) memberCount() int { return max(len(m.members), m.in.Members) }

func (m *machine) emit(now time.Time, msg wire.Message) {
	msg.Head().Stamp(m.self, now)
	m.out = append(m.out, msg)
}

func (m *machine) note(kind, reason string) { m.events = append(m.events, event{kind, reason}) }

func (m *machine) randomTimeout() time.Duration {
	return m.cfg.HeartbeatTimeout + time.Duration(m.cfg.TimeoutJitter*m.rnd.Float64()*float64(m.cfg.HeartbeatTimeout))
}

func (m *machine) memberOf(id peer.ID, now time.Time) *member {
	mb, ok := m.members[id]
	if !ok {
		mb = &member{}
		m.members[id] = mb
	}
	mb.lastHeard = now
	return mb
}

// setVote records a member's support if ts is newer than what we have.
func (mb *member) setVote(s support, ts int64) {
	if ts >= mb.voteTS {
		mb.vote, mb.voteTS = s, ts
	}
}

func (m *machine) setOwnVote(s support, now time.Time) {
	m.members[m.self].vote, m.members[m.self].voteTS = s, now.UnixNano()
}

// maxTermJump bounds how far one message can raise the highest term seen.
// Without it one forged candidacy at term 2^53-1 would leave no term to
// stand in, and every node that voted in it could never vote again. Honest
// terms grow by one per election; a majority-backed leader's term is taken
// whatever its distance (adopt).
const maxTermJump = 1 << 10

// seeTerm raises the highest term seen from a single message.
func (m *machine) seeTerm(t uint64) {
	if t > m.maxTerm && t-m.maxTerm <= maxTermJump && t <= wire.MaxInt {
		m.maxTerm = t
	}
}

// termTooFar reports a term no honest peer could have reached from ours.
func (m *machine) termTooFar(t uint64) bool { return t > m.maxTerm+maxTermJump }

// step applies one message from another peer (never from self: the driver
// drops our own messages echoed back).
func (m *machine) step(now time.Time, from peer.ID, msg wire.Message) {
	if from == m.self {
		return
	}
	m.members[m.self].lastHeard = now
	mb := m.memberOf(from, now)
	ts := msg.Head().TS
	switch t := msg.(type) {
	case *wire.Heartbeat:
		m.seeTerm(t.Term)
		// The latest claim by term: a delayed heartbeat of an older term
		// must not hide the current one.
		if t.Term >= mb.hbTerm {
			mb.hbTerm, mb.hbAt, mb.hbScore = t.Term, now, t.Score
		}
		if !m.haveLeader && mb.candTerm == t.Term && t.Term >= m.maxTerm && t.Term > mb.resigned {
			// The winner of the latest election, heard before its
			// majority is counted here (gossip may deliver a heartbeat
			// after its author's resign). Its followers are not held
			// off by it: a resign must hand over at once.
			m.holdOff(now)
		}
		mb.setVote(support{t.Term, from}, ts)
		m.reconcile(now)
		m.countHeartbeat(now, from, t.Term)
	case *wire.Candidate:
		m.seeTerm(t.Term)
		mb.candTerm, mb.candAt = t.Term, now
		// A node that stands no longer backs its old leader.
		mb.setVote(support{}, ts)
		m.onCandidate(now, from, t)
		m.reconcile(now)
	case *wire.Vote:
		m.seeTerm(t.Term)
		mb.setVote(support{t.Term, t.Candidate}, ts)
		m.reconcile(now)
	case *wire.Resign:
		if t.Term > mb.resigned {
			mb.resigned = t.Term
		}
		mb.setVote(support{}, ts)
		if mb.hbTerm <= t.Term {
			mb.hbAt = time.Time{}
		}
		if m.haveLeader && m.leader == from && m.leaderTerm == t.Term {
			m.loseLeader(now, standResign)
		} else {
			m.note(eventIgnored, ignoredNotLeader)
		}
		m.reconcile(now)
	}
}

// countHeartbeat decides whether a heartbeat came from our leader: only
// those keep the leader alive.
func (m *machine) countHeartbeat(now time.Time, from peer.ID, term uint64) {
	if !m.haveLeader || m.leader != from {
		m.note(eventIgnored, ignoredNotLeader)
		return
	}
	switch {
	case term < m.leaderTerm:
		m.note(eventIgnored, ignoredStaleTerm)
		return
	case term > m.leaderTerm:
		// Our leader won a later term we did not see: follow it there.
		m.adopt(now, support{term, from})
	}
	m.recordGap(now)
	m.lastHB = now
}

func (m *machine) recordGap(now time.Time) {
	if !m.gapBase.IsZero() {
		m.gaps = append(m.gaps, now.Sub(m.gapBase))
		if len(m.gaps) > maxGaps {
			m.gaps = m.gaps[len(m.gaps)-maxGaps:]
		}
	}
	m.gapBase, m.lastHeartbeat = now, now
}

func (m *machine) onCandidate(now time.Time, from peer.ID, c *wire.Candidate) {
	if m.termTooFar(c.Term) {
		m.note(eventIgnored, ignoredTermJump)
		return
	}
	if c.Term >= m.maxTerm {
		m.holdOff(now)
	}
	if c.Term <= m.lastVoted {
		m.note(eventIgnored, ignoredStaleTerm)
		return
	}
	if m.pending == nil || c.Term > m.pending.term {
		m.pending = &pendingElection{term: c.Term, start: now, cands: map[peer.ID]float64{}}
	}
	if c.Term < m.pending.term {
		m.note(eventIgnored, ignoredStaleTerm)
		return
	}
	m.pending.cands[from] = c.Score
}

// holdOff is the PreVote rule: a node without a leader that hears an
// election of the latest term (a candidacy, or the heartbeat of the
// candidate that won it) does not open a new term for a randomised
// timeout; it votes in that election, or follows its winner (reconcile).
// Opening a higher term would take the votes away from a term that may
// be about to produce a leader. This one rule replaces what grew by
// incident: backing a live leader with two backers, never standing
// against a candidate before the first leader, the 0.1 margin for doing so
// later, and the doubling retry backoff (docs/ARCHITECTURE.md, "Overload
// is not a reason to die"). Like raft's randomised election timer, it
// also spreads the retries: the first node whose timer runs out stands,
// and the others hear it and wait again. A follower remembers it too: its
// leader's timeout, seconds later, must not open a term above the
// candidacy it heard meanwhile (the leader died, and another follower
// timed out first).
func (m *machine) holdOff(now time.Time) {
	m.heldUntil = later(m.heldUntil, now.Add(m.randomTimeout()))
	if m.haveLeader {
		return
	}
	m.nextStand = later(m.nextStand, m.heldUntil)
	if m.standWhy == standBootstrap {
		// Someone spoke: the start is no longer simultaneous, and the
		// bootstrap wait (and rank order) has done its work.
		m.standWhy = standRetry
	}
}

// silence is how long the leader has gone unheard, less the time this
// process could not run meanwhile (Lifeguard's rule: a node's own
// slowness is not its peers' death), as the liveness view's suspicion
// deadlines do. A follower starved of CPU reads its leader's heartbeats
// late, and timed out a leader that was alive: a 100-process mesh on 2
// cores reached term 18 before it agreed (docs/bench-degree).
func (m *machine) silence(now time.Time) time.Duration {
	d := now.Sub(m.lastHB)
	if m.in.Lost != nil {
		d -= m.in.Lost(m.lastHB, now)
	}
	return d
}

// leaderAlive reports whether we follow (or are) a leader heard within d.
func (m *machine) leaderAlive(now time.Time, d time.Duration) bool {
	if !m.haveLeader {
		return false
	}
	return m.leader == m.self || now.Sub(m.lastHB) <= d
}

// better orders candidates and leaders of one term: higher score, then the
// lower peer ID.
func better(scoreA float64, a peer.ID, scoreB float64, b peer.ID) bool {
	if scoreA != scoreB {
		return scoreA > scoreB
	}
	return a < b
}

// tick advances time: heartbeats, timeouts, votes and candidacies fall due
// here.
func (m *machine) tick(now time.Time) {
	m.members[m.self].lastHeard = now
	m.reconcile(now)

	if m.isLeader() {
		m.lead(now)
	} else if m.haveLeader {
		if m.silence(now) > m.timeout {
			m.loseLeader(now, standTimeout)
		} else if now.Sub(m.lastEndorse) >= m.cfg.endorseInterval(m.memberCount()) {
			m.endorse(now)
		}
	}

	if p := m.pending; p != nil && !now.Before(p.start.Add(m.cfg.ElectionWindow)) {
		m.castVote(now)
		m.reconcile(now)
	}

	m.noteFirstPeer(now)
	if !m.haveLeader && m.pending == nil && m.canStand() && !m.nextStand.IsZero() && !now.Before(m.nextStand) &&
		(m.standWhy != standBootstrap || m.bootstrapOver(now) && m.turnToStand(now)) {
		m.standIn(now, m.maxTerm+1, m.standWhy)
	}
}

// noteFirstPeer starts the bootstrap wait over when the node first knows
// another member (its liveness view heard one, or the election topic did).
// The wait is for hearing an existing leader, and nothing can be heard
// before then: when many nodes start at once on a loaded machine,
// discovery takes longer than the wait, and counting it from the process
// start made every node lead itself alone at term 1 (fifty leaders, then
// a dozen terms of merging them). The wait is randomised like the
// heartbeat timeout, so the nodes of a starting mesh do not all stand in
// the same instant.
func (m *machine) noteFirstPeer(now time.Time) {
	if !m.firstPeer.IsZero() || m.memberCount() <= 1 {
		return
	}
	m.firstPeer = now
	if !m.haveLeader && m.standWhy == standBootstrap {
		wait := m.cfg.BootstrapWait + time.Duration(m.cfg.TimeoutJitter*m.rnd.Float64()*float64(m.cfg.BootstrapWait))
		m.nextStand = later(m.nextStand, now.Add(wait))
	}
}

// bootstrapOver reports whether a starting node may stand: it has known a
// member for the bootstrap wait (nextStand), or it has known none for
// aloneFactor waits and so leads itself.
func (m *machine) bootstrapOver(now time.Time) bool {
	return !m.firstPeer.IsZero() || now.Sub(m.started) >= aloneFactor*m.cfg.BootstrapWait
}

// starting reports whether the node is still in its bootstrap wait: it
// has never followed a leader nor stood.
func (m *machine) starting() bool {
	return !m.haveLeader && m.standWhy == standBootstrap
}

// turnToStand lets the starting node that no member it knows outranks
// stand at its bootstrap deadline, and the others rankDelay later: a mesh
// starting at once then sees one candidacy first, which its members vote
// for, and by their turn the others have heard it (holdOff) and follow
// the leader it makes. Without the order every node of a 50-node start
// stood at its deadline, within a second or two of each other. If the
// best-placed node is slow or gone, the rest stand a few seconds later.
// The members are the liveness view's, not the connections: on a mesh of
// bounded degree a node is connected to a few of them, and ranking among
// those made one node in seventeen think it stands first.
func (m *machine) turnToStand(now time.Time) bool {
	return m.in.Outranked == 0 || !now.Before(m.nextStand.Add(rankDelay(m.cfg)))
}

// rankDelay is how much longer than the best-placed node the others wait
// at start: its candidacy's window and the votes' way back, with room for
// a loaded machine's delays.
func rankDelay(c Config) time.Duration { return c.ElectionWindow + c.HeartbeatTimeout }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lead carries out a leader's duties for one tick.
func (m *machine) lead(now time.Time) {
	if m.in.Status == status.Unhealthy {
		m.resign(now, downUnhealthy)
		return
	}
	if m.holdsMajority() {
		m.lostSince = time.Time{}
	} else if m.lostSince.IsZero() {
		m.lostSince = now
	} else if now.Sub(m.lostSince) >= m.cfg.HeartbeatTimeout {
		// Joining members endorse within a heartbeat or two; a majority
		// missing for a whole timeout is a real loss (a healed partition
		// made the mesh bigger than our side).
		m.resign(now, downLost)
		return
	}
	if !m.frozen && now.Sub(m.lastSent) >= m.cfg.HeartbeatInterval {
		m.heartbeat(now)
	}
}

func (m *machine) heartbeat(now time.Time) {
	m.seq++
	m.emit(now, &wire.Heartbeat{Term: m.leaderTerm, Seq: m.seq, Score: m.score(now)})
	m.recordGap(now)
	m.lastSent, m.lastHB = now, now
	m.setOwnVote(support{m.leaderTerm, m.self}, now)
}

func (m *machine) endorse(now time.Time) {
	m.emit(now, &wire.Vote{Term: m.leaderTerm, Candidate: m.leader})
	m.setOwnVote(support{m.leaderTerm, m.leader}, now)
	m.lastEndorse = now
}

// standIn announces this node's candidacy for term.
func (m *machine) standIn(now time.Time, term uint64, why string) {
	if term > wire.MaxInt {
		return
	}
	m.seeTerm(term)
	m.stoodTerm = term
	m.stood[term] = true
	for t := range m.stood {
		// A term this far back can no longer be won: its candidacy
		// stopped being fresh long ago.
		if t+maxStoodTerms < term {
			delete(m.stood, t)
		}
	}
	score := m.score(now)
	if m.pending == nil || m.pending.term < term {
		m.pending = &pendingElection{term: term, start: now, cands: map[peer.ID]float64{}}
	}
	m.pending.cands[m.self] = score
	m.setOwnVote(support{}, now)
	m.emit(now, &wire.Candidate{Term: term, Score: score, UptimeS: uint64(now.Sub(m.started) / time.Second)})
	m.note(eventCandidacy, why)
	// If this election produces no leader, try again after its window
	// and a randomised timeout, unless another node's candidacy is heard
	// first (holdOff).
	m.nextStand, m.standWhy = now.Add(m.cfg.ElectionWindow+m.randomTimeout()), standRetry
}

// castVote closes the pending election's window: one vote per term, for the
// best candidate seen, unless our leader is alive (then the candidacy is a
// node with a bad link, and backing it would depose a working leader).
func (m *machine) castVote(now time.Time) {
	p := m.pending
	m.pending = nil
	if p.term <= m.lastVoted {
		return
	}
	m.lastVoted = p.term
	if m.leaderAlive(now, m.cfg.HeartbeatTimeout) {
		m.note(eventIgnored, ignoredSticky)
		return
	}
	var best peer.ID
	var bestScore float64
	for id, s := range p.cands {
		if best == "" || better(s, id, bestScore, best) {
			best, bestScore = id, s
		}
	}
	if best == "" {
		return
	}

	m.emit(now, &wire.Vote{Term: p.term, Candidate: best})
	m.setOwnVote(support{p.term, best}, now)
	m.lastEndorse = now
}

// loseLeader forgets a leader that timed out or resigned and schedules a
// candidacy at once (the randomised timeout already spread the nodes out),
// unless it heard an election under way (holdOff).
func (m *machine) loseLeader(now time.Time, why string) {
	m.noteSettled(now)
	m.haveLeader = false
	m.setOwnVote(support{}, now)
	m.nextStand, m.standWhy = later(now, m.heldUntil), why
}

// resign steps down of our own accord and tells the mesh, so followers
// stand at once instead of waiting for the timeout.
func (m *machine) resign(now time.Time, why string) {
	m.resignedTerm = max(m.resignedTerm, m.leaderTerm)
	m.emit(now, &wire.Resign{Term: m.leaderTerm})
	m.stepDown(now, why)
	m.nextStand, m.standWhy = now, standResign
}

func (m *machine) stepDown(now time.Time, why string) {
	if m.leaderTerm > m.steppedDown {
		m.steppedDown = m.leaderTerm
	}
	m.noteSettled(now)
	m.haveLeader = false
	m.lostSince = time.Time{}
	m.setOwnVote(support{}, now)
	m.note(eventStepDown, why)
}

// withdraw is the graceful-shutdown resign: step down if leading, and never
// stand again. It reports whether this node was leading.
func (m *machine) withdraw(now time.Time) bool {
	m.withdrawn = true
	if !m.isLeader() {
		return false
	}
	m.resign(now, downResign)
	return true
}
