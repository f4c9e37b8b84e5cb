package testnet

import (
	"context"
	"testing"
)

func TestObserveReadsHealthMetricsAndSummary(t *testing.T) {
	dir, nodes := fakeTestnet(t, 2)
	agree(nodes, 1, 4)
	nodes[0].set(func(f *fakeNode) { f.status = "unhealthy" })
	tn, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	obs, err := tn.Observe(context.Background(), Scrape{Metrics: true, Summary: true})
	if err != nil {
		t.Fatal(err)
	}
	n0, n1 := obs[0], obs[1]
	if n0.Status != "unhealthy" || n0.Ready() {
		t.Errorf("node0 status %q (ready %v); a 503 /health must still be read", n0.Status, n0.Ready())
	}
	if len(n0.Failing) != 1 || n0.Failing[0] != "dht-integrity" {
		t.Errorf("node0 failing checks %v, want [dht-integrity]", n0.Failing)
	}
	if n1.Status != "healthy" || n1.Leader != nodes[1].peerID || n1.Term != 4 {
		t.Errorf("node1 = %+v", n1)
	}
	if n1.IsLeader == nil || !*n1.IsLeader || n0.IsLeader == nil || *n0.IsLeader {
		t.Errorf("is_leader from /metrics: node0 %v node1 %v", n0.IsLeader, n1.IsLeader)
	}
	if n1.Peers == nil || *n1.Peers != 4 {
		t.Errorf("peers from /health/summary = %v, want 4", n1.Peers)
	}
	if n0.PeerID != nodes[0].peerID {
		t.Errorf("peer ID %q, want it learned from node_id", n0.PeerID)
	}
	st, _ := LoadState(dir)
	if st.Nodes[0].PeerID != nodes[0].peerID {
		t.Errorf("the learned peer ID was not recorded in the state")
	}
}

func TestObserveShowsAnUnansweringNodeAsUnreachable(t *testing.T) {
	dir, nodes := fakeTestnet(t, 1)
	nodes[0].srv.Close()
	tn, _ := Open(dir, Options{})
	defer tn.Close()
	obs, _ := tn.Observe(context.Background(), Scrape{})
	if obs[0].Status != StatusUnreachable || obs[0].Error == "" {
		t.Errorf("closed node = %+v, want unreachable with the error", obs[0])
	}
}

func TestMetricValue(t *testing.T) {
	exp := "# HELP meshhealth_election_is_leader x\n" +
		"meshhealth_election_is_leader_total 5\n" +
		"meshhealth_election_term{node=\"a b\"} 7 1700000000\n" +
		"meshhealth_election_is_leader 1\n"
	tests := []struct {
		name string
		want float64
		ok   bool
	}{
		{"meshhealth_election_is_leader", 1, true},
		{"meshhealth_election_term", 7, true},
		{"meshhealth_missing", 0, false},
	}
	for _, tt := range tests {
		got, ok := metricValue(exp, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("metricValue(%s) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChaosFaultPassesThroughToDebugFault(t *testing.T) {
	dir, nodes := fakeTestnet(t, 1)
	tn, _ := Open(dir, Options{})
	defer tn.Close()
	ctx := context.Background()
	steps := []Chaos{
		{Action: ChaosFault, Node: 0, Component: "pubsub", Fault: "drop-inbound"},
		{Action: ChaosPartition, Node: 0},
		{Action: ChaosHeal, Node: 0},
		{Action: ChaosClear, Node: 0},
	}
	for _, c := range steps {
		if err := tn.Apply(ctx, c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	want := []string{"pubsub/drop-inbound", "network/isolate", "clear", "clear"}
	if got := nodes[0].faults; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("faults posted %q, want %q", got, want)
	}
	err := tn.Apply(ctx, Chaos{Action: ChaosFault, Node: 0, Component: "bogus", Fault: "x"})
	if err == nil {
		t.Error("a fault the node refuses (400) was reported as done")
	}
}

func TestChaosPartitionIsRecordedUntilHealed(t *testing.T) {
	dir, _ := fakeTestnet(t, 2)
	tn, _ := Open(dir, Options{})
	defer tn.Close()
	ctx := context.Background()
	tn.Apply(ctx, Chaos{Action: ChaosPartition, Node: 1})
	obs, _ := tn.Observe(ctx, Scrape{})
	if !obs[1].Partitioned || obs[0].Partitioned {
		t.Errorf("after partitioning node1: node0 %v node1 %v", obs[0].Partitioned, obs[1].Partitioned)
	}
	tn.Apply(ctx, Chaos{Action: ChaosHeal, Node: 1})
	obs, _ = tn.Observe(ctx, Scrape{})
	if obs[1].Partitioned {
		t.Error("still partitioned after heal")
	}
}

func TestMetricSumAddsEveryLabelSetOfOneMetric(t *testing.T) {
	exp := `# HELP meshhealth_pubsub_probe_messages_published_total Messages.
# TYPE meshhealth_pubsub_probe_messages_published_total counter
meshhealth_pubsub_probe_messages_published_total{type="ack"} 12
meshhealth_pubsub_probe_messages_published_total{type="probe"} 30
meshhealth_pubsub_probe_messages_published_total_extra 1000
meshhealth_up 1
meshhealth_pubsub_probe_messages_published_total_sum{x="}"} 5
`
	for _, tc := range []struct {
		name  string
		want  float64
		found bool
	}{
		{"meshhealth_pubsub_probe_messages_published_total", 42, true},
		{"meshhealth_up", 1, true},
		{"meshhealth_missing", 0, false},
	} {
		got, found := MetricSum(exp, tc.name)
		if got != tc.want || found != tc.found {
			t.Errorf("MetricSum(%s) = %g, %v; want %g, %v", tc.name, got, found, tc.want, tc.found)
		}
	}
}
