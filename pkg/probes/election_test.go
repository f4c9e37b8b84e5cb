package probes

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestElectionStabilityRules(t *testing.T) {
	const leader = "12D3KooWLeaderLeaderLeaderLeaderLeaderLeaderLeader"
	healthy := ElectionState{Leader: leader, Term: 4, HaveLeader: true, HeartbeatAge: 800 * time.Millisecond, ChangesRecent: 1, ChangesTotal: 7}
	cases := []struct {
		name   string
		mutate func(*ElectionState)
		want   string // substring of the message; "" means healthy
	}{
		{"follower with a live leader", func(*ElectionState) {}, ""},
		{"the leader itself", func(s *ElectionState) { s.IsLeader = true; s.HeartbeatAge = 0 }, ""},
		{"no leader", func(s *ElectionState) { s.HaveLeader = false; s.Leader = "" }, "no leader"},
		{"heartbeat exactly at the timeout still passes", func(s *ElectionState) { s.HeartbeatAge = 3 * time.Second }, ""},
		{"heartbeats stopped", func(s *ElectionState) { s.HeartbeatAge = 3*time.Second + time.Millisecond }, "silent for"},
		{"three changes in 10 min is allowed", func(s *ElectionState) { s.ChangesRecent = 3 }, ""},
		{"flapping leadership", func(s *ElectionState) { s.ChangesRecent = 4 }, "4 leadership changes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := healthy
			c.mutate(&s)
			chk := Election(ElectionViewFunc(func() ElectionState { return s }), 3*time.Second, 3, 5*time.Second, time.Second, nil)
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
