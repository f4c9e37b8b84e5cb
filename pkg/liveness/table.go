package liveness

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// State is what this node believes of one peer.
type State string

// The peer states; see the package doc.
const (
	Alive   State = "alive"
	Suspect State = "suspect"
	Dead    State = "dead"
	Left    State = "left"
)

// LeaveGrace is how long after its goodbye a peer's evidence of life is
// taken for its shutdown under way, not a return: a leaver goes on
// publishing until its GossipSub stops (an ack, a vote), and a dial of
// either side may open one more connection before its host closes. A
// restarted peer is alive again at its first message after the grace
// (the leader's heartbeat comes every second). Seen in 10 of 50 2-node
// leaves under the race detector before it.
const LeaveGrace = 3 * time.Second

// States lists every state, for metrics and docs.
func States() []State { return []State{Alive, Suspect, Dead, Left} }

// Evidence is what moved a peer's state, or confirmed it.
type Evidence string

// Kinds of evidence. The first group is evidence of life.
const (
	Connected Evidence = "connected" // a new connection: its process took part in a handshake
	Message   Evidence = "message"   // a message it wrote, accepted on a meshhealth topic
	Ack       Evidence = "ack"       // it acknowledged one of this node's probes
	Pinged    Evidence = "ping"      // it answered a direct libp2p ping

	Disconnected Evidence = "disconnected"      // its last connection closed, without a goodbye: checked, not held against it
	MissedAck    Evidence = "missed_ack"        // it did not acknowledge a probe that asked it
	PingFailed   Evidence = "ping_failed"       // a direct ping went unanswered
	Silence      Evidence = "silence"           // heard from far longer than its publishing rate explains
	Timeout      Evidence = "suspicion_timeout" // suspect for the whole suspicion timeout
	Goodbye      Evidence = "goodbye"           // it said it is leaving
)

func (e Evidence) life() bool {
	switch e {
	case Connected, Message, Ack, Pinged:
		return true
	}
	return false
}

// Config sets the table's timings. The zero value of a field takes its
// default.
type Config struct {
	// SuspicionTimeout is how long a suspect has to show a sign of life
	// before it is dead. Long enough for two or three direct pings and a
	// probe interval's worth of its messages on a LAN; short enough that a
	// killed peer leaves the election's majority within seconds. Default 6s.
	SuspicionTimeout time.Duration
	// Silence is the shortest silence that makes an alive peer suspect. The
	// View raises it with the mesh's size, since each peer publishes less
	// often in a larger mesh (the message budget). Default 30s.
	Silence time.Duration
	// AnswerCooldown is how long a peer that missed an ack is asked again
	// only when no other peer is left to ask. Default 1m.
	AnswerCooldown time.Duration
	// Retention is how long dead and departed peers are remembered (for
	// "its last peer left" and for the mesh view). Default 1h.
	Retention time.Duration
	// TickPeriod is how often the View ticks the table. Default 250ms.
	// Whether a tick came late because this process stalled is not the
	// table's to judge: it asks the awareness (Aware).
	TickPeriod time.Duration
	// VerifyInterval is the gap between direct pings of one suspect.
	// Default 2s.
	VerifyInterval time.Duration
	// SweepInterval is how often the connected alive peer heard from
	// longest ago is pinged, as SWIM probes one member per interval: a
	// constant cost per node whatever the mesh's size, and a neighbour that
	// died without closing its connections (QUIC and a SIGKILL leave them
	// to a 30 s idle timeout) is the stalest soon after, so it is found in
	// seconds. Only neighbours are swept: a ping of any other member would
	// dial it, and with a bounded degree most members are not neighbours;
	// they are judged by their silence on the gossip topics. Default 1s.
	SweepInterval time.Duration
	// SweepAfter: a peer heard from within this long is not swept. Default
	// 2s.
	SweepAfter time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SuspicionTimeout, 6*time.Second)
	def(&c.Silence, 30*time.Second)
	def(&c.AnswerCooldown, time.Minute)
	def(&c.Retention, time.Hour)
	def(&c.TickPeriod, 250*time.Millisecond)
	def(&c.VerifyInterval, 2*time.Second)
	def(&c.SweepInterval, time.Second)
	def(&c.SweepAfter, 2*time.Second)
	return c
}

// Info is one peer as this node sees it.
type Info struct {
	ID    peer.ID `json:"id"`
	State State   `json:"state"`
	// Since is when the peer entered State.
	Since time.Time `json:"since"`
	// Evidence is the latest evidence about the peer, and EvidenceAt when
	// it came.
	Evidence   Evidence  `json:"evidence"`
	EvidenceAt time.Time `json:"evidence_at"`
	// LastHeard is the latest evidence of life; zero if none yet.
	LastHeard time.Time `json:"last_heard"`
	// Connected: this node has an open connection to it.
	Connected bool `json:"connected"`
	// MissedAckAt is when it last failed to answer a probe (zero: never,
	// or it answered since).
	MissedAckAt time.Time `json:"missed_ack_at,omitzero"`
}

// Change is a peer's move from one state to another.
type Change struct {
	ID       peer.ID
	From, To State // From is "" for a peer first seen
	Evidence Evidence
	At       time.Time
}

type entry struct {
	Info
	leftAt   time.Time // the goodbye's own timestamp
	verifyAt time.Time // last direct ping sent
	// checkedAt: when a closed link of its was last checked (DueVerify).
	// Only that check excuses the next close: a sweep's ping answered
	// before its process was killed says nothing about the close after.
	checkedAt time.Time
	// checkDue: its last connection closed and nothing has been heard of
	// it since; one direct ping tells a link trimmed from a process gone.
	checkDue bool
}

// Aware is this process's awareness of its own stalls, pauses and
// starvation (pkg/awareness). Its answer depends only on the times asked
// about and what it was fed, so the table stays deterministic under test.
type Aware interface {
	// Lost is how much of [from, to] this process spent stalled, paused or
	// starved.
	Lost(from, to time.Time) time.Duration
}

// Table is the decision core. It is not safe for concurrent use: View
// serialises access.
type Table struct {
	cfg   Config
	self  peer.ID
	aware Aware // nil: this process is never found stalled
	peers map[peer.ID]*entry
	// counts is the number of peers in each state, kept as they move:
	// every message a node takes in may change a state, and counting the
	// table afresh each time cost O(members) per message (6 % of a
	// 1,000-node simulation's CPU).
	counts    map[State]int
	lastTick  time.Time
	lastSweep time.Time
	changes   []Change
}

// NewTable returns an empty table for the node self. aware tells it when
// this process was stalled or starved (nil: never).
func NewTable(self peer.ID, cfg Config, aware Aware) *Table {
	return &Table{cfg: cfg.withDefaults(), self: self, aware: aware, peers: map[peer.ID]*entry{},
		counts: map[State]int{Alive: 0, Suspect: 0, Dead: 0, Left: 0}}
}

// SetSilence sets the silence that makes an alive peer suspect, never below
// the configured floor.
func (t *Table) SetSilence(d time.Duration) {
	t.cfg.Silence = max(d, t.floorSilence())
}

func (t *Table) floorSilence() time.Duration { return Config{}.withDefaults().Silence }

// Observe feeds one piece of evidence about id. written is when the peer
// wrote the message that carried it (zero when the evidence is not a
// message): a message written before its author's goodbye, delivered after
// it, does not bring it back.
func (t *Table) Observe(now time.Time, id peer.ID, ev Evidence, written time.Time) {
	if id == t.self || id == "" {
		return
	}
	e, known := t.peers[id]
	if !known {
		if ev == PingFailed || ev == Silence || ev == Timeout || ev == Disconnected {
			return // nothing to say about a peer never seen
		}
		e = &entry{Info: Info{ID: id}}
		t.peers[id] = e
	}
	e.Evidence, e.EvidenceAt = ev, now
	switch ev {
	case Connected:
		e.Connected = true
	case Disconnected:
		e.Connected = false
	}
	switch {
	case ev == Goodbye:
		if written.IsZero() {
			written = now
		}
		// The same leave may be told twice (directly, then on the topic,
		// stamped earlier): the later stamp stands.
		if e.State != Left || written.After(e.leftAt) {
			e.leftAt = written
		}
		t.move(e, Left, ev, now)
	case ev.life():
		if e.State == Left && ev != Connected && !written.IsZero() && !written.After(e.leftAt) {
			return // in flight since before its goodbye
		}
		if e.State == Left && now.Sub(e.Since) < LeaveGrace {
			return // its shutdown under way: its last messages, a dial
		}
		e.LastHeard = now
		e.checkDue = false
		if ev == Ack {
			e.MissedAckAt = time.Time{}
		}
		t.move(e, Alive, ev, now)
	case ev == MissedAck:
		e.MissedAckAt = now
		if e.State == Alive || e.State == "" {
			t.move(e, Suspect, ev, now)
		}
	case ev == Disconnected:
		// A closed link is not evidence against the peer: with a bounded
		// degree the connection managers trim links all the time, and the
		// peer goes on being heard over gossip through others. It is
		// checked once by a direct ping (DueVerify), which a killed
		// process fails at once (its port refuses the dial), unless such
		// a check was made within a silence: then its next message or its
		// silence tells, and a link that a trim and the check's own close
		// keep closing is not dialled over and over. A sweep's ping does
		// not count: in a small mesh most peers answer one every minute,
		// and a peer killed after it was swept kept its place in the
		// majority for a whole silence (30 s) after its links closed.
		if e.State == Alive && (e.checkedAt.IsZero() || now.Sub(e.checkedAt) >= t.cfg.Silence) {
			e.checkDue = true
		}
	case ev == PingFailed:
		if e.State == Alive || e.State == "" {
			t.move(e, Suspect, ev, now)
		}
	}
}

func (t *Table) move(e *entry, to State, ev Evidence, now time.Time) {
	if e.State == to {
		return
	}
	t.changes = append(t.changes, Change{ID: e.ID, From: e.State, To: to, Evidence: ev, At: now})
	if e.State != "" {
		t.counts[e.State]--
	}
	t.counts[to]++
	e.State, e.Since = to, now
	if to == Suspect {
		e.verifyAt = time.Time{} // verify at once
	}
}

// Tick advances time. The part of the time since the last tick that this
// process spent stalled, paused or starved (lost, which it reports) is
// nobody's silence: a peer's silence and a suspect's suspicion advance
// only by the time this process was running well enough to hear them
// (Lifeguard: a starved node must not accuse its peers).
func (t *Table) Tick(now time.Time) (lost time.Duration) {
	if !t.lastTick.IsZero() && t.aware != nil {
		lost = t.aware.Lost(t.lastTick, now)
		if lost > 0 {
			for _, e := range t.peers {
				// As if the lost time had not passed: a peer heard just
				// before it is as fresh now, and a suspect's clock resumes
				// where it stopped. Only what was lost since each clock
				// started counts, so a peer heard in the middle of
				// starvation is not made fresher than now.
				if !e.LastHeard.IsZero() {
					e.LastHeard = t.discount(e.LastHeard, now)
				}
				if e.State == Suspect {
					e.Since = t.discount(e.Since, now)
				}
			}
		}
	}
	t.lastTick = now
	for id, e := range t.peers {
		switch e.State {
		case Alive:
			if now.Sub(e.LastHeard) > t.cfg.Silence {
				t.move(e, Suspect, Silence, now)
			}
		case Suspect:
			if now.Sub(e.Since) >= t.cfg.SuspicionTimeout {
				t.move(e, Dead, Timeout, now)
			}
		case Dead, Left:
			if now.Sub(e.Since) > t.cfg.Retention {
				t.counts[e.State]--
				delete(t.peers, id)
			}
		}
	}
	return lost
}

// discount moves a clock that started at since forward by the time this
// process lost between the last tick (or since, if later) and now.
func (t *Table) discount(since, now time.Time) time.Time {
	from := since
	if t.lastTick.After(from) {
		from = t.lastTick
	}
	return since.Add(t.aware.Lost(from, now))
}

// Changes returns the state changes since the last call.
func (t *Table) Changes() []Change {
	c := t.changes
	t.changes = nil
	return c
}

// DueVerify lists the peers due for a direct ping, and marks them pinged
// now: the suspects, every VerifyInterval, and once each alive peer whose
// last connection closed and that has not been heard of since. Neither
// needs a connection: the ping dials, which fails at once for a process
// gone, and the pinger closes a link it opened only to ask.
func (t *Table) DueVerify(now time.Time) []peer.ID {
	var out []peer.ID
	for id, e := range t.peers {
		switch {
		case e.State == Suspect && now.Sub(e.verifyAt) >= t.cfg.VerifyInterval:
			e.verifyAt = now
			out = append(out, id)
		case e.State == Alive && e.checkDue && !e.Connected:
			e.verifyAt, e.checkedAt, e.checkDue = now, now, false
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// DueSweep returns the connected alive peer heard from longest ago, when a
// sweep is due and that peer has been quiet for SweepAfter, and marks the
// sweep done.
func (t *Table) DueSweep(now time.Time) (peer.ID, bool) {
	if now.Sub(t.lastSweep) < t.cfg.SweepInterval {
		return "", false
	}
	var best *entry
	for _, e := range t.peers {
		if e.State != Alive || !e.Connected || now.Sub(e.LastHeard) < t.cfg.SweepAfter || now.Sub(e.verifyAt) < t.cfg.SweepAfter {
			continue
		}
		if best == nil || e.LastHeard.Before(best.LastHeard) || (e.LastHeard.Equal(best.LastHeard) && e.ID < best.ID) {
			best = e
		}
	}
	if best == nil {
		return "", false
	}
	t.lastSweep = now
	best.verifyAt = now
	return best.ID, true
}

// Get returns what the table knows of id.
func (t *Table) Get(id peer.ID) (Info, bool) {
	e, ok := t.peers[id]
	if !ok {
		return Info{}, false
	}
	return e.Info, true
}

// All returns every known peer, sorted by ID.
func (t *Table) All() []Info {
	out := make([]Info, 0, len(t.peers))
	for _, e := range t.peers {
		out = append(out, e.Info)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// Counts returns the number of peers in each state.
func (t *Table) Counts() map[State]int {
	return maps.Clone(t.counts)
}

// Responders splits the peers a probe may ask into those with fresh
// evidence of life that have not failed to answer lately (ask these), and
// the rest that are not known dead or departed (ask these only when the
// first group is exhausted). Dead and departed peers are never returned.
func (t *Table) Responders(now time.Time) (fresh, fallback []peer.ID) {
	for id, e := range t.peers {
		switch {
		case e.State == Alive && (e.MissedAckAt.IsZero() || now.Sub(e.MissedAckAt) > t.cfg.AnswerCooldown):
			fresh = append(fresh, id)
		case e.State == Alive || e.State == Suspect:
			fallback = append(fallback, id)
		}
	}
	slices.Sort(fresh)
	slices.Sort(fallback)
	return fresh, fallback
}

// Members is the number of nodes in the mesh as this node sees it: itself
// and every peer alive or suspect.
func (t *Table) Members() int {
	return 1 + t.counts[Alive] + t.counts[Suspect]
}

// Suspects is the number of peers suspect.
func (t *Table) Suspects() int {
	return t.counts[Suspect]
}

// LiveIDs lists the peers alive or suspect, in no order.
func (t *Table) LiveIDs() []peer.ID {
	var ids []peer.ID
	for id, e := range t.peers {
		if e.State == Alive || e.State == Suspect {
			ids = append(ids, id)
		}
	}
	return ids
}

// Gone reports whether id is known dead or departed.
func (t *Table) Gone(id peer.ID) bool {
	e, ok := t.peers[id]
	return ok && (e.State == Dead || e.State == Left)
}

// Live reports whether id is alive or suspect: not known dead or departed.
// An unknown peer is not live.
func (t *Table) Live(id peer.ID) bool {
	e, ok := t.peers[id]
	return ok && (e.State == Alive || e.State == Suspect)
}
