package meshview

import (
	"cmp"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

// Self is what this node says about itself: the same values it gossips in
// its own summary, read from its health snapshot at request time.
type Self struct {
	ID         peer.ID
	Status     string
	Score      float64
	Components map[string]float64
	Peers      int
	Leader     peer.ID
	Term       uint64
	Version    string
	// Recovering is the recovery step under way on this node ("" none;
	// "between steps" between rounds).
	Recovering string
}

// Input is everything one answer is built from.
type Input struct {
	Self      Self
	Peers     []liveness.Info // this node's liveness view (self is never in it)
	Summaries []summary.Entry // the summaries this node holds
	// TTL is how long a summary stands (the summary book's); an older one
	// is shown but is not "current" and takes no part in the totals.
	TTL time.Duration
	Now time.Time
	// GossipMesh is this node's GossipSub mesh: topic → the peers in it
	// (nil: unknown). Members report nothing of theirs (summaries do not
	// carry it), so this is one side of each link.
	GossipMesh map[string][]peer.ID
	// Admit is the mesh's membership (nil: everyone): a peer it does not
	// admit is no member, whatever the liveness view or a summary says
	// (one taken off the allow-list, until the view forgets it).
	Admit func(peer.ID) bool
	// Refused is how many times this node refused a peer its membership
	// does not admit (meshhealth_peers_refused_total, every reason).
	Refused uint64
}

// Disagreement kinds.
const (
	// HeldDownReportsUp: this node holds the member suspect or dead, yet its
	// current summary says healthy or degraded. Seen from one side of an
	// asymmetric partition; also, for up to one TTL, after a crash (the two
	// look the same from here until the summary ages out).
	HeldDownReportsUp = "held_down_reports_up"
	// HeldAliveReportsDown: this node holds the member alive, yet its own
	// current summary says unhealthy.
	HeldAliveReportsDown = "held_alive_reports_down"
)

// Unknown is the status of a member with no summary, and the state of one
// the liveness view does not know.
const Unknown = "unknown"

// Says is a member's last summary: what it says about itself.
type Says struct {
	Status     string             `json:"status"`
	Score      float64            `json:"score"`
	Components map[string]float64 `json:"components"`
	Peers      int                `json:"peers"`
	Leader     string             `json:"leader"`
	Term       uint64             `json:"term"`
	Version    string             `json:"version"`
	ReceivedAt time.Time          `json:"received_at"`
	AgeSeconds float64            `json:"age_seconds"`
	// Current: received within the summary TTL.
	Current bool `json:"current"`
}

// Seen is what this node sees of a member (its liveness view's entry).
type Seen struct {
	State              string    `json:"state"`
	Since              time.Time `json:"since,omitzero"`
	Evidence           string    `json:"evidence,omitempty"`
	EvidenceAt         time.Time `json:"evidence_at,omitzero"`
	EvidenceAgeSeconds float64   `json:"evidence_age_seconds"`
	LastHeard          time.Time `json:"last_heard,omitzero"`
	Connected          bool      `json:"connected"`
	MissedAckAt        time.Time `json:"missed_ack_at,omitzero"`
}

// Member is one member of the mesh.
type Member struct {
	ID     string `json:"id"`
	Self   bool   `json:"self,omitempty"`
	State  string `json:"state"`  // Seen.State, "alive" for this node
	Status string `json:"status"` // Says.Status, "unknown" without a current summary
	Says   *Says  `json:"says"`   // null: no summary held
	Seen   *Seen  `json:"seen"`   // null for this node
	// Recovering is the recovery step this node runs to repair itself
	// (only for this node: a node cut off cannot tell its peers).
	Recovering string `json:"recovering,omitempty"`
	// Disagreement names the conflict between Says and Seen, if any.
	Disagreement string `json:"disagreement,omitempty"`
	// GossipTopics lists the meshhealth topics in whose GossipSub mesh this
	// node holds the member, so a member connected but outside a topic's
	// mesh shows; absent for this node and when the mesh is unknown.
	GossipTopics []string `json:"gossip_topics,omitempty"`
}

// Totals are over the whole mesh, whatever the filters.
type Totals struct {
	Members  int            `json:"members"`
	ByState  map[string]int `json:"by_state"`
	ByStatus map[string]int `json:"by_status"`
	// Leader is the leader this node follows, or, when it knows none, the
	// one most current summaries name. LeaderAgree counts the members whose
	// current summary (this node's own included) names it, out of
	// LeaderReporting members with a current summary.
	Leader          string `json:"leader"`
	LeaderAgree     int    `json:"leader_agree"`
	LeaderReporting int    `json:"leader_reporting"`
	Disagreements   int    `json:"disagreements"`
	// GossipMesh counts this node's GossipSub mesh peers per topic.
	GossipMesh map[string]int `json:"gossip_mesh,omitempty"`
	// Refused counts the times this node refused a peer that is not a
	// member (an allow-list is in force); such peers are never members.
	Refused uint64 `json:"refused"`
}

// Mesh is the answer of GET /health/mesh.
type Mesh struct {
	Node        string    `json:"node"`
	GeneratedAt time.Time `json:"generated_at"`
	Totals      Totals    `json:"totals"`
	Members     []Member  `json:"members"`
}

// Build assembles the mesh: O(members).
func Build(in Input) Mesh {
	now := in.Now
	byID := make(map[peer.ID]int, len(in.Peers)+1) // index in members
	members := make([]Member, 0, len(in.Peers)+1)
	s := in.Self
	members = append(members, Member{ID: s.ID.String(), Self: true, State: string(liveness.Alive), Status: s.Status, Recovering: s.Recovering,
		Says: &Says{Status: s.Status, Score: s.Score, Components: s.Components, Peers: s.Peers, Leader: idString(s.Leader),
			Term: s.Term, Version: s.Version, ReceivedAt: now, Current: true}})
	byID[s.ID] = 0
	admit := in.Admit
	if admit == nil {
		admit = func(peer.ID) bool { return true }
	}
	for _, p := range in.Peers {
		if _, dup := byID[p.ID]; dup || p.ID == s.ID || !admit(p.ID) {
			continue
		}
		byID[p.ID] = len(members)
		members = append(members, Member{ID: p.ID.String(), State: string(p.State), Status: Unknown, Seen: &Seen{
			State: string(p.State), Since: p.Since, Evidence: string(p.Evidence), EvidenceAt: p.EvidenceAt,
			EvidenceAgeSeconds: age(now, p.EvidenceAt), LastHeard: p.LastHeard, Connected: p.Connected, MissedAckAt: p.MissedAckAt,
		}})
	}
	// Summaries of members the liveness view does not know (rare: it learns
	// of every author whose message it accepts) still show, state unknown.
	for _, e := range in.Summaries {
		if e.Peer == s.ID || !admit(e.Peer) {
			continue
		}
		i, ok := byID[e.Peer]
		if !ok {
			i = len(members)
			byID[e.Peer] = i
			members = append(members, Member{ID: e.Peer.String(), State: Unknown, Status: Unknown})
		}
		m := &members[i]
		w := e.Summary
		a := age(now, e.ReceivedAt)
		m.Says = &Says{Status: w.Status, Score: w.Score, Components: w.Components, Peers: w.Peers, Leader: idString(w.Leader),
			Term: w.Term, Version: w.Version, ReceivedAt: e.ReceivedAt, AgeSeconds: a, Current: in.TTL <= 0 || now.Sub(e.ReceivedAt) <= in.TTL}
		if m.Says.Current {
			m.Status = w.Status
		}
	}
	if in.GossipMesh != nil {
		topics := make([]string, 0, len(in.GossipMesh))
		for t := range in.GossipMesh {
			topics = append(topics, t)
		}
		slices.Sort(topics) // so each member's list is in a stable order
		for _, t := range topics {
			for _, p := range in.GossipMesh[t] {
				if i, ok := byID[p]; ok && i > 0 {
					members[i].GossipTopics = append(members[i].GossipTopics, t)
				}
			}
		}
	}
	slices.SortFunc(members[1:], func(x, y Member) int { return cmp.Compare(x.ID, y.ID) })

	t := Totals{Members: len(members), ByState: map[string]int{}, ByStatus: map[string]int{}, Refused: in.Refused}
	if in.GossipMesh != nil {
		t.GossipMesh = make(map[string]int, len(in.GossipMesh))
		for topic, ps := range in.GossipMesh {
			t.GossipMesh[topic] = len(ps)
		}
	}
	names := map[string]int{}
	for i := range members {
		m := &members[i]
		m.Disagreement = disagreement(m)
		if m.Disagreement != "" {
			t.Disagreements++
		}
		t.ByState[m.State]++
		t.ByStatus[m.Status]++
		if m.Says != nil && m.Says.Current {
			t.LeaderReporting++
			if m.Says.Leader != "" {
				names[m.Says.Leader]++
			}
		}
	}
	t.Leader = idString(s.Leader)
	if t.Leader == "" {
		// The plurality; ties go to the smaller ID so the answer is stable.
		for id, n := range names {
			if n > names[t.Leader] || (n == names[t.Leader] && id < t.Leader) {
				t.Leader = id
			}
		}
	}
	t.LeaderAgree = names[t.Leader]
	return Mesh{Node: s.ID.String(), GeneratedAt: now, Totals: t, Members: members}
}

func disagreement(m *Member) string {
	if m.Self || m.Says == nil || !m.Says.Current {
		return ""
	}
	up := m.Says.Status == "healthy" || m.Says.Status == "degraded"
	switch m.State {
	case string(liveness.Suspect), string(liveness.Dead):
		if up {
			return HeldDownReportsUp
		}
	case string(liveness.Alive):
		if m.Says.Status == "unhealthy" {
			return HeldAliveReportsDown
		}
	}
	return ""
}

// Filter keeps the members whose state is in states and whose status is in
// statuses (an empty list keeps all); the totals stay the whole mesh's.
func (m Mesh) Filter(states, statuses []string) Mesh {
	if len(states) == 0 && len(statuses) == 0 {
		return m
	}
	out := m
	out.Members = nil
	for _, x := range m.Members {
		if (len(states) == 0 || slices.Contains(states, x.State)) && (len(statuses) == 0 || slices.Contains(statuses, x.Status)) {
			out.Members = append(out.Members, x)
		}
	}
	if out.Members == nil {
		out.Members = []Member{}
	}
	return out
}

func idString(id peer.ID) string {
	if id == "" {
		return ""
	}
	return id.String()
}

// age in seconds, to the millisecond; 0 for a zero time.
func age(now, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(now.Sub(t).Milliseconds()) / 1000
}
