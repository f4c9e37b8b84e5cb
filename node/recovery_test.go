package node

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/meshhealth/meshhealth/pkg/liveness"
)

// A confirmed failure is the node's own when it lost its links, hears
// nothing, follows no leader, or hears at most half of the members it
// knew: the side of a partition holding at most half, even with links and
// a zone to hear. Goodbyes do not count: the members that left are not
// missing. A node of a mesh it hears most of, under a leader, is not at
// fault.
func TestOwnEvidence(t *testing.T) {
	const leader = "12D3KooWLeader"
	for _, c := range []struct {
		name                       string
		connected                  int
		alive, suspect, dead, left int
		leader                     string
		heard                      bool
		want                       bool
	}{
		{"the whole mesh heard, under a leader", 8, 99, 0, 0, 0, leader, true, false},
		{"the majority side of a 10 % zone cut", 8, 89, 6, 4, 0, leader, true, false},
		{"two of five left, one died", 2, 1, 0, 1, 2, leader, true, false},
		{"no live link", 0, 99, 0, 0, 0, leader, true, true},
		{"links, but nothing heard lately", 8, 99, 0, 0, 0, leader, false, true},
		{"the cut zone of 10 nodes in 100", 4, 9, 40, 50, 0, leader, true, true},
		{"a cut zone whose peers are only suspect yet", 4, 9, 90, 0, 0, leader, true, true},
		{"half of a mesh split in two", 2, 2, 3, 0, 0, leader, true, true},
		{"a cut zone that lost its leader, the others still alive in its view", 4, 99, 0, 0, 0, "", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := ownEvidence{connected: c.connected, minPeers: 1, leader: c.leader, heard: c.heard,
				counts: map[liveness.State]int{liveness.Alive: c.alive, liveness.Suspect: c.suspect, liveness.Dead: c.dead, liveness.Left: c.left}}
			if got := ev.own(); got != c.want {
				t.Errorf("%+v own = %v, want %v", ev, got, c.want)
			}
		})
	}
}

// A failure that does not look like the node's own at once is looked at
// again for the judgement: evidence that arrives within it (the election
// timing its leader out) makes it the node's own; none, and it is not,
// after the judgement and not before.
func TestJudgeOwnWaitsForLateEvidence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		late := func() bool { return time.Since(start) >= 4*time.Second }
		if !judgeOwn(late, ownJudgement(3*time.Second), ownPoll) {
			t.Error("evidence 4 s late, within a 5.5 s judgement: not counted")
		}
		start = time.Now()
		if judgeOwn(func() bool { return false }, ownJudgement(3*time.Second), ownPoll) {
			t.Error("no evidence: counted as own")
		}
		if took := time.Since(start); took < ownJudgement(3*time.Second) {
			t.Errorf("gave up after %v, before the judgement", took)
		}
	})
}
