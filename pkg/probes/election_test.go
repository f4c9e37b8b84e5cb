package probes

import (
	"context"
	"strings"
	"testing"
	"time"
)

// fakeElection is an ElectionView with the answers set by hand.
type fakeElection struct {
	leader        string
	term          uint64
	isLeader      bool
	age, jitter   time.Duration
	total         uint64
	recentChanges int
	since         time.Time
}

func (f fakeElection) Leader() (string, uint64, bool) { return f.leader, f.term, f.isLeader }
func (f fakeElection) HeartbeatAge() time.Duration    { return f.age }
func (f fakeElection) HeartbeatJitter() time.Duration { return f.jitter }
func (f fakeElection) LeaderChanges() (uint64, int)   { return f.total, f.recentChanges }
func (f fakeElection) LeaderSince() time.Time         { return f.since }

// hearing is a Hearing that last heard the mesh at a fixed time.
type hearing time.Time

func (h hearing) HeardSince(t time.Time) bool { return time.Time(h).After(t) }

func TestElectionStabilityRules(t *testing.T) {
	const leader = "12D3KooWLeaderLeaderLeaderLeaderLeaderLeaderLeader"
	healthy := fakeElection{leader: leader, term: 4, age: 800 * time.Millisecond, recentChanges: 1, total: 7}
	cases := []struct {
		name   string
		mutate func(*fakeElection)
		want   string        // substring of the message; "" means healthy
		heard  time.Duration // the mesh was last heard this long ago; 0: never
	}{
		{"follower with a live leader", func(*fakeElection) {}, "", 0},
		{"the leader itself", func(s *fakeElection) { s.isLeader = true; s.age = 0 }, "", 0},
		{"no leader", func(s *fakeElection) { s.leader = "" }, "no leader", 0},
		{"heartbeat exactly at the timeout still passes", func(s *fakeElection) { s.age = 3 * time.Second }, "", 0},
		{"heartbeats stopped", func(s *fakeElection) { s.age = 3*time.Second + time.Millisecond }, "silent for", 0},
		{"three changes in 10 min is allowed", func(s *fakeElection) { s.recentChanges = 3 }, "", 0},
		{"flapping leadership", func(s *fakeElection) { s.recentChanges = 4 }, "4 leadership changes", 0},
		// A killed leader: the others are still heard, so the node is in a
		// failover, not cut off.
		{"leader silent, the mesh heard", func(s *fakeElection) { s.age = 4 * time.Second }, "", time.Second},
		{"no leader yet, the mesh heard", func(s *fakeElection) { s.leader, s.age = "", 8*time.Second }, "", time.Second},
		{"failover too long", func(s *fakeElection) { s.leader, s.age = "", 9*time.Second+time.Millisecond }, "no leader", time.Second},
		{"leader silent, the mesh silent too", func(s *fakeElection) { s.age = 4 * time.Second }, "silent for", 4 * time.Second},
		{"no leader, the mesh silent too", func(s *fakeElection) { s.leader = "" }, "no leader", 5 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := healthy
			c.mutate(&s)
			var h Hearing
			if c.heard > 0 {
				h = hearing(time.Now().Add(-c.heard))
			}
			chk := Election(s, 3*time.Second, 3, 5*time.Second, time.Second, h, nil)
			if chk.Critical {
				t.Fatal("election-stability must not be critical: a mesh without a leader still carries traffic")
			}
			r := chk.Checker(context.Background())
			if r.Healthy != (c.want == "") {
				t.Fatalf("healthy=%v, message %q", r.Healthy, r.Message)
			}
			if !strings.Contains(r.Message, c.want) {
				t.Fatalf("message %q does not say %q", r.Message, c.want)
			}
			for _, k := range []string{"leader", "term", "heartbeat_age_ms", "jitter_ms", "changes_recent", "changes_total", "is_leader"} {
				if _, ok := r.Details[k]; !ok {
					t.Errorf("details lack %q", k)
				}
			}
		})
	}
}
