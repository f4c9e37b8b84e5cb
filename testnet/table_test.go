package testnet

import (
	"bytes"
	"strings"
	"testing"
)

func TestRenderTable(t *testing.T) {
	nodes := mesh(3, 1, 5)
	nodes[0].PeerID = "12D3KooWLongPeerIdentifierABCDEF"
	nodes[0].Components = map[string]float64{"pubsub": 0.98, "dht": 0.5, "custom": 1}
	nodes[0].Failing = []string{"dht-integrity"}
	peers := 4
	nodes[0].Peers = &peers
	nodes[2].Status, nodes[2].Process, nodes[2].Message = StatusUnreachable, ProcStopped, "process stopped (SIGSTOP)"
	nodes[2].Partitioned = true

	var buf bytes.Buffer
	if err := RenderTable(&buf, nodes); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("want header, 3 rows and a summary; got\n%s", buf.String())
	}
	head := strings.Fields(lines[0])
	wantHead := []string{"NODE", "PEER", "ID", "ADDRESS", "STATUS", "SCORE", "PUBSUB", "DHT", "P2P", "ELECTION", "RESOURCES", "CUSTOM", "PEERS", "LEADER", "TERM", "NOTE"}
	if strings.Join(head, " ") != strings.Join(wantHead, " ") {
		t.Errorf("header %q, want %q", head, wantHead)
	}
	for _, want := range []string{"12D3…ABCDEF", "0.98", "0.50", "failing: dht-integrity", "node1 *"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	if row := lines[3]; !strings.Contains(row, "unreachable") || !strings.Contains(row, "partitioned; process stopped") {
		t.Errorf("stopped, partitioned node row: %q", row)
	}
	if got := lines[4]; got != "3 nodes, 2 ready, leader node1 agreed by 2" {
		t.Errorf("summary %q", got)
	}
}

func TestSummarizeNamesDisagreement(t *testing.T) {
	nodes := mesh(3, 0, 1)
	nodes[2].Leader = nodes[2].PeerID
	got := Summarize(nodes)
	if got != "3 nodes, 3 ready, leaders disagree: node0 by 2, node2 by 1" {
		t.Errorf("Summarize = %q", got)
	}
}

func TestShortID(t *testing.T) {
	if got := ShortID("12D3KooWAbcdefghijklmnopXYZ123"); got != "12D3…XYZ123" {
		t.Errorf("ShortID = %q", got)
	}
	if got := ShortID(""); got != "-" {
		t.Errorf("ShortID(\"\") = %q", got)
	}
}

func TestTargetsFileHasOneGroupPerNode(t *testing.T) {
	st := &State{Dir: t.TempDir(), Mode: ModeLocal, Prefix: "mhabc123", Nodes: []NodeState{
		{Name: "node0", HTTP: "127.0.0.1:1000", PeerID: "p0"}, {Name: "node1", HTTP: "127.0.0.1:1001"},
	}}
	g := targets(st)
	if len(g) != 2 || g[0].Targets[0] != "127.0.0.1:1000" || g[0].Labels["node"] != "node0" || g[0].Labels["peer_id"] != "p0" {
		t.Errorf("targets = %+v", g)
	}
	if _, ok := g[1].Labels["peer_id"]; ok {
		t.Error("an unknown peer ID became an empty label")
	}
	if err := writeTargets(st); err != nil {
		t.Fatal(err)
	}
}
