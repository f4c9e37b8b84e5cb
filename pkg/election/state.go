package election

import (
	"time"
)

// State is the election as this node sees it, for the health checks, the
// HTTP API and the summary.
type State struct {
	// Leader is the leader's peer ID, empty when none is known.
	Leader string
	// Term is the leader's term, or while there is none the highest term
	// seen.
	Term       uint64
	IsLeader   bool
	HaveLeader bool
	// LastHeartbeat is when the last heartbeat of a leader was counted (or,
	// on the leader, sent); zero before the first.
	LastHeartbeat time.Time
	// HeartbeatAge is the time since LastHeartbeat, or since start when
	// there was none: how long this node has gone without hearing a
	// leader.
	HeartbeatAge time.Duration
	// HeartbeatJitter is the mean absolute deviation of the current
	// leader's last 16 heartbeat inter-arrival times from
	// heartbeat_interval: 0 for a metronome, large for a leader that
	// stutters or a mesh that delays.
	HeartbeatJitter time.Duration
	// ChangesTotal counts changes of leader since start: the first leader
	// is not a change, nor is the same leader in a new term.
	ChangesTotal uint64
	// ChangesRecent counts, within the change window (10 min), the
	// unplanned changes: those whose previous leader did not resign, once
	// a leadership has lasted three heartbeat timeouts (before that the
	// mesh is converging). It measures flapping; a graceful handover is
	// not flapping.
	ChangesRecent int
	// LeaderSince is when this node adopted the current leader; the
	// leader's uptime as seen here.
	LeaderSince time.Time
	// Members is the denominator of the majority: the members heard on
	// the election topic within their lifetime or known to the liveness
	// view, whichever is more, this node included.
	Members int
}

// Leader, HeartbeatAge, HeartbeatJitter, LeaderChanges and LeaderSince read State for
// the election-stability check, whose package may not import this one
// (probes.ElectionView names what it reads).

// Leader is the leader this node follows ("" while none is known), its term
// (the highest seen while none is), and whether it is this node.
func (e *Election) Leader() (id string, term uint64, self bool) {
	s := e.State()
	return s.Leader, s.Term, s.IsLeader
}

// HeartbeatAge is State.HeartbeatAge, now.
func (e *Election) HeartbeatAge() time.Duration { return e.State().HeartbeatAge }

// HeartbeatJitter is State.HeartbeatJitter.
func (e *Election) HeartbeatJitter() time.Duration { return e.State().HeartbeatJitter }

// LeaderSince is State.LeaderSince.
func (e *Election) LeaderSince() time.Time { return e.State().LeaderSince }

// LeaderChanges is State.ChangesTotal and State.ChangesRecent.
func (e *Election) LeaderChanges() (total uint64, recent int) {
	s := e.State()
	return s.ChangesTotal, s.ChangesRecent
}

func (m *machine) state(now time.Time) State {
	st := State{
		Term:            m.maxTerm,
		LastHeartbeat:   m.lastHeartbeat,
		HeartbeatJitter: m.jitter(),
		ChangesTotal:    m.changesTotal,
		ChangesRecent:   m.recentChanges(now),
		Members:         m.memberCount(),
	}
	ref := m.lastHeartbeat
	if ref.IsZero() {
		ref = m.started
	}
	st.HeartbeatAge = max(now.Sub(ref), 0)
	if m.haveLeader {
		st.Leader, st.Term, st.HaveLeader = m.leader.String(), m.leaderTerm, true
		st.IsLeader = m.leader == m.self
		st.LeaderSince = m.leaderSince
	}
	return st
}

func (m *machine) jitter() time.Duration {
	if len(m.gaps) == 0 {
		return 0
	}
	var sum time.Duration
	for _, g := range m.gaps {
		d := g - m.cfg.HeartbeatInterval
		if d < 0 {
			d = -d
		}
		sum += d
	}
	return sum / time.Duration(len(m.gaps))
}

func (m *machine) recentChanges(now time.Time) int {
	n := 0
	for _, t := range m.changes {
		if now.Sub(t) <= m.cfg.ChangeWindow {
			n++
		}
	}
	return n
}

// maxChanges bounds the change log when leadership flaps wildly within
// one window; the count saturates there, far above any threshold.
const maxChanges = 1024

func (m *machine) pruneChanges(now time.Time) {
	i := 0
	for i < len(m.changes) && now.Sub(m.changes[i]) > m.cfg.ChangeWindow {
		i++
	}
	if len(m.changes)-i > maxChanges {
		i = len(m.changes) - maxChanges
	}
	m.changes = append(m.changes[:0], m.changes[i:]...)
}

// next returns when the machine next has something to do if no message
// arrives. It never lies further than half a heartbeat interval ahead, so
// member expiry and local health changes are seen promptly too.
func (m *machine) next(now time.Time) time.Time {
	at := now.Add(m.cfg.HeartbeatInterval / 2)
	consider := func(t time.Time) {
		if !t.IsZero() && t.Before(at) {
			at = t
		}
	}
	switch {
	case m.isLeader():
		if !m.frozen {
			consider(m.lastSent.Add(m.cfg.HeartbeatInterval))
		}
		if !m.lostSince.IsZero() {
			consider(m.lostSince.Add(m.cfg.HeartbeatTimeout))
		}
	case m.haveLeader:
		consider(m.lastHB.Add(m.timeout + time.Millisecond))
		consider(m.lastEndorse.Add(m.cfg.endorseInterval(m.memberCount())))
	default:
		consider(m.nextStand)
	}
	if m.pending != nil {
		consider(m.pending.start.Add(m.cfg.ElectionWindow))
	}
	if at.Before(now) {
		return now
	}
	return at
}
