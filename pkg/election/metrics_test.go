package election

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

func TestMetricsPassLintAndFollowTheState(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, func() State { return State{} })
	if err != nil {
		t.Fatal(err)
	}
	m.event(event{eventIgnored, ignoredNotLeader})
	m.event(event{eventCandidacy, standBootstrap})
	m.event(event{eventStepDown, downResign})
	m.observe(State{Term: 4, IsLeader: true, ChangesTotal: 2, Members: 3})
	m.observe(State{Term: 5, ChangesTotal: 3, Members: 3})
	testkit.Lint(t, reg)
	for name, want := range map[string]float64{
		"meshhealth_election_term":                 5,
		"meshhealth_election_is_leader":            0,
		"meshhealth_election_leader_changes_total": 3,
		"meshhealth_election_members":              3,
	} {
		if got := counter(t, reg, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if _, err := newMetrics(reg, func() State { return State{} }); err == nil {
		t.Fatal("a second election registered on the same registry")
	}
	m.unregister()
	if _, err := newMetrics(reg, func() State { return State{} }); err != nil {
		t.Fatalf("registering again after unregister: %v", err)
	}
}
