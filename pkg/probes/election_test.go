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

func TestElectionStabilityRules(t *testing.T) {
	const leader = "12D3KooWLeaderLeaderLeaderLeaderLeaderLeaderLeader"
	healthy := fakeElection{leader: leader, term: 4, age: 800 * time.Millisecond, recentChanges: 1, total: 7}
	cases := []struct {
		name   string
		mutate func(*fakeElection)
		want   string // substring of the message; "" means healthy
	}{
		{"follower with a live leader", func(*fakeElection) {}, ""},
		{"the leader itself", func(s *fakeElection) { s.isLeader = true; s.age = 0 }, ""},
		{"no leader", func(s *fakeElection) { s.leader = "" }, "no leader"},
		{"heartbeat exactly at the timeout still passes", func(s *fakeElection) { s.age = 3 * time.Second }, ""},
		{"heartbeats stopped", func(s *fakeElection) { s.age = 3*time.Second + time.Millisecond }, "silent for"},
		{"three changes in 10 min is allowed", func(s *fakeElection) { s.recentChanges = 3 }, ""},
		{"flapping leadership", func(s *fakeElection) { s.recentChanges = 4 }, "4 leadership changes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := healthy
			c.mutate(&s)
			chk := Election(s, 3*time.Second, 3, 5*time.Second, time.Second, nil)
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
