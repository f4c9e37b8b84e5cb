package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshhealth/meshhealth/bench/internal/procfs"
	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/testnet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseGoBenchKeepsEveryRunUnderOneName(t *testing.T) {
	out := `goos: linux
BenchmarkScore-2                  	 1000000	      1043 ns/op	     256 B/op	       1 allocs/op
BenchmarkHealthJSON/health+json-2 	   46353	      7319 ns/op	    3250 B/op	      44 allocs/op
BenchmarkScore-2                  	 1200000	       998.5 ns/op	     256 B/op	       1 allocs/op
PASS
ok  	github.com/meshhealth/meshhealth/pkg/health	13.365s
`
	rs := parseGoBench(out)
	if len(rs) != 3 {
		t.Fatalf("parsed %d lines, want 3: %+v", len(rs), rs)
	}
	if rs[0].Name != "BenchmarkScore" || rs[0].NsPerOp != 1043 || rs[0].BytesPerOp != 256 || rs[0].AllocsPerOp != 1 || rs[0].Iterations != 1000000 {
		t.Errorf("first = %+v", rs[0])
	}
	if rs[1].Name != "BenchmarkHealthJSON/health+json" || rs[2].NsPerOp != 998.5 {
		t.Errorf("others = %+v", rs[1:])
	}
}

func TestCommandLineQuotesWhatAShellWouldSplit(t *testing.T) {
	got := commandLine([]string{"bin/meshbench", "gobench", "-command", "go test -bench 'A|B'", ""})
	want := `bin/meshbench gobench -command 'go test -bench '\''A|B'\''' ''`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestSelectFaults(t *testing.T) {
	all, err := selectFaults("all")
	if err != nil || len(all) != len(faultDefs) {
		t.Fatalf("all: %d faults, %v", len(all), err)
	}
	two, err := selectFaults("kill-leader, partition")
	if err != nil || len(two) != 2 || two[0].Name != "kill-leader" || two[1].Name != "partition" {
		t.Fatalf("two = %+v, %v", two, err)
	}
	if _, err := selectFaults("partition,meteor"); err == nil || !strings.Contains(err.Error(), "meteor") {
		t.Fatalf("unknown fault accepted: %v", err)
	}
}

func TestEveryFaultIsJudgedOnSomething(t *testing.T) {
	for _, f := range faultDefs {
		if len(f.Watch) == 0 || f.Undo == "" || f.Why == "" || (f.Role != roleLeader && f.Role != roleFollower) {
			t.Errorf("fault %s is incomplete: %+v", f.Name, f)
		}
	}
}

func TestRatesPerNodePerMinute(t *testing.T) {
	st := &testnet.State{Nodes: []testnet.NodeState{{Name: "node0"}, {Name: "node1"}, {Name: "node2"}}}
	before := []nodeCounters{
		{ok: true, probePublished: 10, net: procfs.NetCounters{RxPackets: 100, RxBytes: 1000}, haveNet: true},
		{ok: true, probePublished: 20},
		{ok: false},
	}
	after := []nodeCounters{
		{ok: true, probePublished: 40, net: procfs.NetCounters{RxPackets: 400, RxBytes: 4000}, haveNet: true},
		{ok: true, probePublished: 80, received: 5, haveReceived: true},
		{ok: true, probePublished: 1000},
	}
	r := rates(st, before, after, 30) // half a minute: per-minute is twice the delta
	if r[0].ProbePublished != 60 || r[0].ProbeTopicIn != 120 || r[0].RxPackets != 600 || r[0].RxBytes != 6000 {
		t.Errorf("node0 = %+v", r[0])
	}
	if r[1].ProbePublished != 120 || r[1].ProbeTopicIn != 60 || r[1].Received != nil {
		t.Errorf("node1 = %+v (received needs both readings)", r[1])
	}
	// node2 was unreadable at the start: it adds nothing to the others.
	if r[2].ProbePublished != 0 || r[2].ProbeTopicIn != 180 {
		t.Errorf("node2 = %+v", r[2])
	}
}

func TestFirstLineHandsOverTheAnnouncement(t *testing.T) {
	f := newFirstLine()
	f.Write([]byte("listening 127.0.0.1:"))
	f.Write([]byte("4242\nmore\n"))
	f.Write([]byte("even more\n"))
	if got := <-f.line; got != "listening 127.0.0.1:4242" {
		t.Fatalf("line = %q", got)
	}
}

func TestPickRotatesWarmHealthyFollowersAndSparesTheLeader(t *testing.T) {
	now := time.Unix(1000, 0)
	nodes := make([]testnet.NodeStatus, 5)
	for i := range nodes {
		nodes[i].Status, nodes[i].StartedAt = "healthy", now.Add(-time.Minute)
	}
	nodes[2].Status = "degraded"
	nodes[4].StartedAt = now.Add(-10 * time.Second) // restarted: too young
	b := detectBench{warmup: 40 * time.Second}
	follower, _ := selectFaults("partition")
	var got []int
	for range 4 {
		i := b.pick(follower[0], nodes, 1, nil, now)
		got = append(got, i)
		b.turn = i + 1
	}
	if want := []int{0, 3, 0, 3}; !slices.Equal(got, want) {
		t.Fatalf("targets %v, want %v (node1 leads, node2 is degraded, node4 is young)", got, want)
	}
	if i := b.pick(follower[0], nodes, 1, []int{0, 3}, now); i != -1 {
		t.Fatalf("picked %d among recovering nodes", i)
	}
	leader, _ := selectFaults("kill-leader")
	if i := b.pick(leader[0], nodes, 1, nil, now); i != 1 {
		t.Fatalf("leader fault picked %d", i)
	}
	if i := b.pick(leader[0], nodes, -1, nil, now); i != -1 {
		t.Fatalf("leader fault without a leader picked %d", i)
	}
}

func TestRecoveredNodeIsReadyAndFollowsTheOthersLeader(t *testing.T) {
	nodes := []testnet.NodeStatus{
		{Name: "node0", PeerID: "p0", Status: "healthy", Leader: "p1"},
		{Name: "node1", PeerID: "p1", Status: "healthy", Leader: "p1"},
		{Name: "node2", PeerID: "p2", Status: "degraded", Leader: "p0"},
	}
	if recovered(nodes, 2) {
		t.Fatal("a node that follows a stale leader counted as recovered")
	}
	nodes[2].Leader = "p1"
	if !recovered(nodes, 2) {
		t.Fatal("a degraded node that follows the leader is ready again")
	}
	nodes[2].Status = "unhealthy"
	if recovered(nodes, 2) {
		t.Fatal("an unhealthy node counted as recovered")
	}
}

func TestIntakeRatesSumTopicsPerSecond(t *testing.T) {
	text := func(probe, election string) string {
		return "# HELP meshhealth_pubsub_messages_received_total x\n" +
			`meshhealth_pubsub_messages_received_total{topic="meshhealth/probe/v1"} ` + probe + "\n" +
			`meshhealth_pubsub_messages_received_total{topic="meshhealth/election/v1"} ` + election + "\n" +
			`meshhealth_pubsub_messages_received_totalx{topic="meshhealth/probe/v1"} 999` + "\n"
	}
	st := &testnet.State{Nodes: []testnet.NodeState{{Name: "node0"}, {Name: "node1"}}}
	t0 := time.Unix(1000, 0)
	before := []intakeReading{{ok: true, at: t0, byTopic: byLabel(text("10", "100"), receivedMetric, "topic")}, {at: t0}}
	after := []intakeReading{{ok: true, at: t0.Add(time.Minute), byTopic: byLabel(text("70", "220"), receivedMetric, "topic")}, {ok: true, at: t0.Add(time.Minute)}}
	got := intakeRates(st, before, after)
	if got[0].PerSecond != 3 || got[0].ByTopic["meshhealth/probe/v1"] != 1 || got[0].ByTopic["meshhealth/election/v1"] != 2 {
		t.Errorf("node0 = %+v, want 3/s: 1 probe, 2 election", got[0])
	}
	if !got[1].Missing {
		t.Errorf("node1 with no first reading = %+v, want missing", got[1])
	}
}

func TestByLabelCountsATopicItWasNotToldOf(t *testing.T) {
	text := `meshhealth_pubsub_messages_received_total{topic="meshhealth/probe/v1"} 5` + "\n" +
		`meshhealth_pubsub_messages_received_total{topic="meshhealth/all/v2"} 7` + "\n"
	got := byLabel(text, receivedMetric, "topic")
	if len(got) != 2 || got["meshhealth/all/v2"] != 7 {
		t.Errorf("byLabel = %v, want both topics", got)
	}
}

func TestFirstLineKeepsTheLatestReport(t *testing.T) {
	f := newFirstLine()
	f.Write([]byte("addr /ip4/127.0.0.1/tcp/1/p2p/x\npee"))
	if l := <-f.line; l != "addr /ip4/127.0.0.1/tcp/1/p2p/x" {
		t.Fatalf("first line %q", l)
	}
	f.Write([]byte("rs 3\npeers 12\n"))
	if h := (bareHost{out: f}); h.peers() != 12 {
		t.Errorf("peers = %d, want the last report, 12", h.peers())
	}
}

func TestBareDialMatchesTheNodesDegree(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	res := &results.Curve{ConnHigh: 128}
	if got := bareDial(res); got != 128 {
		t.Errorf("no peer count: dial %d, want conn_high", got)
	}
	res.Intake = []results.NodeIntake{{Peers: p(12)}, {Peers: p(14)}, {Peers: p(49)}, {}}
	if got := bareDial(res); got != 7 {
		t.Errorf("median 14 peers: dial %d, want 7 (each host is also dialled by later ones)", got)
	}
	res.Intake = []results.NodeIntake{{Peers: p(1)}}
	if got := bareDial(res); got != 1 {
		t.Errorf("one peer: dial %d, want at least 1", got)
	}
}
