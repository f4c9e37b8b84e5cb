package election

import (
	"sort"
	"time"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// reconcile decides whom this node follows from what it knows, after every
// message and tick. The rules, in order:
//
//  1. A live claimant supported by more than half of the members is the
//     leader. At most one support can hold a majority, so every node that
//     sees the same members and votes picks the same leader, whatever it
//     believed before: a forged heartbeat has no supporters, and after a
//     partition heals the side with the majority keeps its leader (a
//     minority side's higher term does not depose it, which is raft's
//     PreVote lesson).
//  2. With no majority anywhere (a heal where no side had one), rival
//     leaders resolve by the two-leaders rule: the higher term, then the
//     higher score, then the lower peer ID. A rival counts only if it has
//     at least two supporters or as many as ours, so a lone peer claiming
//     leadership is still ignored.
//  3. A node without a leader follows the best live claimant that at
//     least two members back, or that its own vote would give a majority
//     of the members it has heard on the election topic (the PreVote
//     rule's other half: a node that hears a live leader does not stand,
//     it follows). A node joining a running mesh follows its leader at
//     once, before it has heard a majority's endorsements (at 100 members
//     they come once in 100 s); nodes of a starting mesh follow the first
//     winner while its votes are still on their way. Following makes no
//     one leader: rule 1 counts every member, and overrides it.
//
// The members are counted by memberCount, which includes those the
// liveness view knows: a starting node that has heard few members on the
// election topic cannot win with the few votes it has heard.
func (m *machine) reconcile(now time.Time) {
	m.expire(now)
	tally := m.tally()
	n := m.memberCount()
	for s, c := range tally {
		if 2*c > n && m.fresh(s, now) {
			if !m.following(s) {
				m.adopt(now, s)
			}
			return
		}
	}

	rivals := m.claimants(now)
	if m.haveLeader {
		cur := claim{support{m.leaderTerm, m.leader}, m.leaderScore(now)}
		for _, r := range rivals {
			if r.s == cur.s {
				continue
			}
			credible := tally[r.s] >= 2 || tally[r.s] >= tally[cur.s]
			if credible && r.outranks(cur) {
				m.adopt(now, r.s)
				return
			}
		}
		return
	}
	own := m.members[m.self].vote
	for _, r := range rivals {
		c := tally[r.s]
		if own != r.s {
			c++
		}
		if tally[r.s] >= 2 || 2*c > len(m.members) {
			m.note(eventBacked, "")
			m.adopt(now, r.s)
			return
		}
	}
}

// claim is a peer's live claim to lead a term, with the score it announced.
type claim struct {
	s     support
	score float64
}

func (a claim) outranks(b claim) bool {
	if a.s.term != b.s.term {
		return a.s.term > b.s.term
	}
	return better(a.score, a.s.cand, b.score, b.s.cand)
}

// claimants lists the peers whose heartbeats arrive, best first.
func (m *machine) claimants(now time.Time) []claim {
	var cs []claim
	for id, mb := range m.members {
		if id == m.self || mb.hbAt.IsZero() || mb.hbTerm <= mb.resigned {
			continue
		}
		if now.Sub(mb.hbAt) <= m.cfg.HeartbeatTimeout {
			cs = append(cs, claim{support{mb.hbTerm, id}, mb.hbScore})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].outranks(cs[j]) })
	return cs
}

func (m *machine) leaderScore(now time.Time) float64 {
	if m.leader == m.self {
		return m.score(now)
	}
	if mb := m.members[m.leader]; mb != nil {
		return mb.hbScore
	}
	return 0
}

// fresh reports whether the supported candidate is alive and still claims
// the term: it announced a heartbeat or candidacy for it within the
// heartbeat timeout and has not resigned from it. Votes for a dead or
// resigned leader keep counting in tallies until their authors vote again;
// this is what keeps them from re-crowning it.
func (m *machine) fresh(s support, now time.Time) bool {
	if s.cand == m.self {
		if m.isLeader() && m.leaderTerm == s.term {
			return true
		}
		return m.stood[s.term] && s.term > m.steppedDown && m.canStand()
	}
	mb := m.members[s.cand]
	if mb == nil || s.term <= mb.resigned {
		return false
	}
	d := m.cfg.HeartbeatTimeout
	return (mb.hbTerm == s.term && !mb.hbAt.IsZero() && now.Sub(mb.hbAt) <= d) ||
		(mb.candTerm == s.term && !mb.candAt.IsZero() && now.Sub(mb.candAt) <= d)
}

func (m *machine) following(s support) bool {
	return m.haveLeader && m.leader == s.cand && m.leaderTerm == s.term
}

// adopt makes s.cand our leader for s.term (ourselves included).
func (m *machine) adopt(now time.Time, s support) {
	m.noteSettled(now)
	if m.isLeader() && s.cand != m.self {
		m.stepDown(now, downOutranked)
	}
	m.haveLeader, m.leader, m.leaderTerm = true, s.cand, s.term
	m.leaderSince, m.lastHB = now, now
	m.timeout = m.randomTimeout()
	m.nextStand = time.Time{}
	m.heldUntil = time.Time{} // the election it heard is over
	if s.term > m.maxTerm && s.term <= wire.MaxInt {
		m.maxTerm = s.term // backed by a majority: however far
	}
	if m.pending != nil && m.pending.term <= s.term {
		m.pending = nil
	}
	m.gaps, m.gapBase = nil, time.Time{}
	if s.cand == m.self {
		m.seq = 0
		m.lostSince = time.Time{}
		m.heartbeat(now)
	} else if m.members[m.self].vote != s {
		m.endorse(now)
	}
	if s != m.lastAdopted {
		prev := m.lastAdopted
		m.lastAdopted = s
		// The first leader is not a change, nor is the same leader in a
		// new term. A handover after the old leader resigned (a graceful
		// shutdown, a rolling restart) is a change but not flapping: only
		// unplanned changes count toward the recent-changes window.
		if !prev.none() && prev.cand != s.cand {
			m.changesTotal++
			if !m.resignedFrom(prev) && m.settled {
				m.changes = append(m.changes, now)
				m.pruneChanges(now)
			}
		}
		m.note(eventChange, "")
	}
}

// settleAfter is how long a leadership must last before this node counts
// later changes as flapping. A mesh starting at once converges through a
// few short-lived leaders (a 50-node start saw nodes change leader four
// times in its first minute), and counting those failed election-stability
// for the ten minutes after a healthy start. Three heartbeat timeouts: no
// convergence leader lasts that long, and a real flap after a settled
// period counts from its first change.
func settleAfter(c Config) time.Duration { return 3 * c.HeartbeatTimeout }

// noteSettled is called as a leadership ends or is replaced.
func (m *machine) noteSettled(now time.Time) {
	if m.haveLeader && now.Sub(m.leaderSince) >= settleAfter(m.cfg) {
		m.settled = true
	}
}

// resignedFrom reports whether s's leader gave up s's term on purpose.
func (m *machine) resignedFrom(s support) bool {
	if s.cand == m.self {
		return m.withdrawn || m.resignedTerm >= s.term
	}
	mb := m.members[s.cand]
	return mb != nil && mb.resigned >= s.term
}

// expire forgets members not heard within the member TTL, and at once
// those the node's liveness view holds dead or departed: a killed half of
// the mesh must not hold the quorum for a whole TTL.
func (m *machine) expire(now time.Time) {
	ttl := m.cfg.memberTTL(m.memberCount())
	for id, mb := range m.members {
		if id == m.self {
			continue
		}
		if now.Sub(mb.lastHeard) > ttl || (m.in.Gone != nil && m.in.Gone(id)) {
			delete(m.members, id)
		}
	}
}

// tally counts the members behind each support.
func (m *machine) tally() map[support]int {
	t := make(map[support]int, 4)
	for _, mb := range m.members {
		if !mb.vote.none() {
			t[mb.vote]++
		}
	}
	return t
}

// holdsMajority reports whether this leader is backed by more than half of
// the members its liveness view does not suspect. A zone outage leaves the
// dead members counted, under suspicion, until the view's suspicion
// timeout confirms them (several heartbeat timeouts): counting them
// against the leader made it resign a timeout after half the mesh died,
// and the survivors churned through leaderless terms until the dead
// expired. A member under suspicion that still backs it counts for it; a
// live member that stops backing it (a healed partition made the mesh
// bigger than its side) counts against it, as before.
func (m *machine) holdsMajority() bool {
	s := support{m.leaderTerm, m.self}
	c, suspects := 0, 0
	for id, mb := range m.members {
		switch {
		case mb.vote == s:
			c++
		case m.in.Suspected != nil && m.in.Suspected(id):
			suspects++
		}
	}
	// The view may count suspects the election has already forgotten (its
	// member TTL is shorter than a suspicion), so each count drops its own.
	return 2*c > max(len(m.members)-suspects, m.in.Members-m.in.Suspects)
}
