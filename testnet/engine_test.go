package testnet

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func runScenario(t *testing.T, c Cluster, yaml string) (*Report, string, error) {
	t.Helper()
	sc, err := ParseScenario([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e := &Engine{Cluster: c, Clock: newFakeClock(), Out: &out}
	rep, err := e.Run(context.Background(), sc, ReportTestnet{Mode: ModeLocal, Nodes: 3})
	return rep, out.String(), err
}

func TestConvergePassesWhenAllReadyAndAgreeOnOneLeader(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 1, 2)}
	c.nodes[0].Status = "starting"
	c.onObserve = func(n int, nodes []NodeStatus) {
		if n == 4 {
			nodes[0].Status = "degraded"
		}
	}
	sc, _ := LoadScenario("converge")
	e := &Engine{Cluster: c, Clock: newFakeClock()}
	rep, err := e.Run(context.Background(), sc, ReportTestnet{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed || rep.Measurements["converge"] != 2 {
		t.Errorf("passed %v, converge measured %vs; want passed after 4 polls of 0.5s", rep.Passed, rep.Measurements["converge"])
	}
}

func TestWaitTimeoutFailsNamingExpectedAndSeen(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 0, 1)}
	c.nodes[2].Leader = c.nodes[2].PeerID // node2 believes in itself
	rep, out, err := runScenario(t, c, "name: x\nsteps:\n  - wait: one-leader\n    timeout: 10s\n")
	var f *StepFailure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a StepFailure", err)
	}
	for _, want := range []string{"within 10s", "exactly one leader"} {
		if !strings.Contains(f.Expected, want) {
			t.Errorf("expected %q lacks %q", f.Expected, want)
		}
	}
	for _, want := range []string{"node0→node0", "node2→node2"} {
		if !strings.Contains(f.Seen, want) {
			t.Errorf("seen %q lacks %q", f.Seen, want)
		}
	}
	if rep.Passed || rep.Failure == "" || rep.Steps[0].Seconds != 10 {
		t.Errorf("report passed=%v failure=%q after %vs", rep.Passed, rep.Failure, rep.Steps[0].Seconds)
	}
	if !strings.Contains(out, "expected:") || !strings.Contains(out, "seen:") {
		t.Errorf("progress output does not say expected/seen:\n%s", out)
	}
}

func TestAssertFailsAtOnce(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 0, 1)}
	c.nodes[1].Status = "degraded"
	_, _, err := runScenario(t, c, "name: x\nsteps:\n  - assert: healthy\n")
	if err == nil || !strings.Contains(err.Error(), "node1=degraded") {
		t.Errorf("err = %v, want node1=degraded seen", err)
	}
	if c.observed != 2 { // the assertion, then the final snapshot
		t.Errorf("observed %d times; an assert must not poll", c.observed)
	}
}

func TestOneLeaderRules(t *testing.T) {
	tests := []struct {
		name  string
		setup func(n []NodeStatus)
		ok    bool
		seen  string
	}{
		{"all agree and /metrics confirms", func(n []NodeStatus) {}, true, "leader node1"},
		{"one node has no leader", func(n []NodeStatus) { n[2].Leader = "" }, false, "node2→none"},
		{"a node is unreachable", func(n []NodeStatus) { n[0].Status = StatusUnreachable }, false, "node0 unreachable"},
		{"two claim leadership in /metrics", func(n []NodeStatus) { b := true; n[0].IsLeader = &b }, false, "/metrics disagrees"},
		{"leader outside the set", func(n []NodeStatus) { follow(n, 0, 1); n[0].PeerID = "gone" }, false, "not among them"},
		{"no /metrics: the health documents decide", func(n []NodeStatus) {
			for i := range n {
				n[i].IsLeader = nil
			}
		}, true, "leader node1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := mesh(3, 1, 3)
			tt.setup(nodes)
			env := &evalEnv{nodes: nodes}
			v := env.oneLeader([]int{0, 1, 2}, nil)
			if v.OK != tt.ok || !strings.Contains(v.Seen, tt.seen) {
				t.Errorf("oneLeader = %v, seen %q; want %v with %q", v.OK, v.Seen, tt.ok, tt.seen)
			}
		})
	}
}

func TestKillLeaderWaitsForANewLeaderWithAHigherTerm(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 1, 3)}
	var killedAt int
	c.onApply = func(ch Chaos, nodes []NodeStatus) {
		nodes[ch.Node].Status, nodes[ch.Node].Process = StatusExited, ProcExited
		killedAt = c.observed
	}
	c.onObserve = func(n int, nodes []NodeStatus) {
		switch {
		case killedAt == 0:
		case n == killedAt+2:
			// A new leader, but the same term: not yet.
			for _, i := range []int{0, 2} {
				nodes[i].Leader = nodes[2].PeerID
			}
		case n == killedAt+6:
			for _, i := range []int{0, 2} {
				is := i == 2
				nodes[i].Term, nodes[i].IsLeader = 4, &is
			}
		}
	}
	sc, _ := LoadScenario("kill-leader")
	e := &Engine{Cluster: c, Clock: newFakeClock()}
	rep, err := e.Run(context.Background(), sc, ReportTestnet{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.applied) != 1 || c.applied[0] != (Chaos{Action: ChaosKill, Node: 1}) {
		t.Errorf("applied %v, want SIGKILL on the leader node1", c.applied)
	}
	if got := rep.Measurements["failover"]; got != 1.5 {
		t.Errorf("failover measured %vs, want 1.5s (6 polls of 250ms)", got)
	}
	if l := rep.Labels["@old"]; l.Node != 1 || l.Term != 3 || l.Leader != "peer1" {
		t.Errorf("label @old = %+v", l)
	}
	if met := rep.Steps[2].TargetMet; met == nil || !*met {
		t.Errorf("target 5s not reported met: %v", met)
	}
}

func TestWhileGuardFailsTheWaitAtOnce(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 0, 1)}
	c.onApply = func(ch Chaos, nodes []NodeStatus) {
		nodes[0].Status = "degraded" // a bystander suffers
	}
	sc := `
name: x
steps:
  - chaos: partition
    node: any-follower
    as: victim
  - wait: not-healthy
    nodes: ["@victim"]
    while: {cond: healthy, except: ["@victim"]}
    timeout: 60s
`
	_, _, err := runScenario(t, c, sc)
	var f *StepFailure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(f.Expected, "while waiting") || !strings.Contains(f.Seen, "node0=degraded") {
		t.Errorf("failure %v", f)
	}
	if c.applied[0].Node != 2 {
		t.Errorf("any-follower chose node%d, want node2 (highest-numbered follower)", c.applied[0].Node)
	}
}

func TestWaitForAnExitedNodeFailsWithoutWaitingOut(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 0, 1)}
	c.nodes[1].Status, c.nodes[1].Exit = StatusExited, &ExitInfo{Found: true, Code: 1, Reason: "listen: address in use"}
	rep, _, err := runScenario(t, c, "name: x\nsteps:\n  - wait: ready\n    timeout: 600s\n")
	if err == nil || !strings.Contains(err.Error(), "address in use") || !strings.Contains(err.Error(), "cannot help") {
		t.Errorf("err = %v", err)
	}
	if rep.Steps[0].Seconds != 0 {
		t.Errorf("waited %vs for a node that is gone", rep.Steps[0].Seconds)
	}
}

func TestExitedWithCodeReportsTheReason(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 0, 1)}
	c.onObserve = func(n int, nodes []NodeStatus) {
		if n == 3 {
			nodes[2].Status, nodes[2].Process = StatusExited, ProcExited
			nodes[2].Exit = &ExitInfo{Found: true, Code: 3, Reason: "critical check p2p-connectivity: 0 peers"}
		}
	}
	yaml := "name: x\nsteps:\n  - chaos: fault\n    node: node:2\n    component: network\n    fault: isolate\n    as: v\n  - wait: exited\n    code: 3\n    nodes: ['@v']\n"
	rep, out, err := runScenario(t, c, yaml)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Steps[1].Exits["node2"]; got.Code != 3 || !strings.Contains(got.Reason, "p2p-connectivity") {
		t.Errorf("exit in report = %+v", got)
	}
	if !strings.Contains(out, "code 3: critical check p2p-connectivity") {
		t.Errorf("progress does not show the reason:\n%s", out)
	}
}

func TestExitedWithTheWrongCodeFails(t *testing.T) {
	c := &fakeCluster{nodes: mesh(2, 0, 1)}
	c.nodes[1].Status, c.nodes[1].Exit = StatusExited, &ExitInfo{Found: true, Code: 1, Reason: "boom"}
	_, _, err := runScenario(t, c, "name: x\nsteps:\n  - wait: exited\n    code: 3\n    nodes: [node:1]\n    timeout: 2s\n")
	if err == nil || !strings.Contains(err.Error(), "with exit code 3") || !strings.Contains(err.Error(), "code 1: boom") {
		t.Errorf("err = %v", err)
	}
}

func TestHoldCountsStatusAndLeaderChanges(t *testing.T) {
	tests := []struct {
		name    string
		script  func(n int, nodes []NodeStatus)
		max     string
		wantErr bool
		status  int
		leader  int
	}{
		{"steady mesh", func(int, []NodeStatus) {}, "0", false, 0, 0},
		{"one flap", func(n int, nodes []NodeStatus) {
			switch n {
			case 3:
				nodes[1].Status = "degraded"
			case 4:
				nodes[1].Status = "healthy"
			}
		}, "0", true, 2, 0},
		{"leader change tolerated by max_changes", func(n int, nodes []NodeStatus) {
			if n == 5 {
				follow(nodes, 2, 2)
			}
		}, "3", false, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeCluster{nodes: mesh(3, 0, 1), onObserve: tt.script}
			yaml := "name: soak\nsteps:\n  - hold: [ready, one-leader]\n    for: 10s\n    max_changes: " + tt.max + "\n"
			rep, _, err := runScenario(t, c, yaml)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			s := rep.Steps[0]
			if s.Hold == nil || s.Hold.StatusChanges != tt.status || s.Hold.LeaderChanges != tt.leader {
				t.Fatalf("hold report %+v, want %d status and %d leader changes", s.Hold, tt.status, tt.leader)
			}
			if s.Hold.Polls != 11 {
				t.Errorf("%d polls in 10s at 1s, want 11", s.Hold.Polls)
			}
			if s.Seconds != 10 {
				t.Errorf("held %vs, want 10s", s.Seconds)
			}
		})
	}
}

func TestEngineHoldForOverridesTheScenario(t *testing.T) {
	c := &fakeCluster{nodes: mesh(2, 0, 1)}
	sc, _ := LoadScenario("soak")
	e := &Engine{Cluster: c, Clock: newFakeClock(), HoldFor: 5 * time.Minute}
	rep, err := e.Run(context.Background(), sc, ReportTestnet{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Steps[1].Seconds; got != 300 {
		t.Errorf("held %vs, want 300s", got)
	}
}

func TestChaosOnLeaderWithoutAgreementFails(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 0, 1)}
	c.nodes[1].Leader = "someone-else"
	_, _, err := runScenario(t, c, "name: x\nsteps:\n  - chaos: kill\n    node: leader\n")
	if err == nil || !strings.Contains(err.Error(), "no leader all nodes agree on") {
		t.Errorf("err = %v", err)
	}
	if len(c.applied) != 0 {
		t.Errorf("killed %v without knowing the leader", c.applied)
	}
}

func TestPastGraceUsesEachNodesStartupGrace(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	nodes := mesh(2, 0, 1)
	nodes[0].StartedAt, nodes[0].StartupGrace = now.Add(-40*time.Second), 30*time.Second
	nodes[1].StartedAt, nodes[1].StartupGrace = now.Add(-40*time.Second), 50*time.Second
	env := &evalEnv{nodes: nodes, now: now}
	if v := env.evalOne(CondPastGrace, []int{0}, nil); !v.OK {
		t.Errorf("node0 40s into a 30s grace: %+v", v)
	}
	if v := env.evalOne(CondPastGrace, []int{0, 1}, nil); v.OK || !strings.Contains(v.Seen, "node1 up 40s of 50s") {
		t.Errorf("node1 40s into a 50s grace: %+v", v)
	}
}

func TestNewLeaderFailureSaysTheOldLeaderStillRules(t *testing.T) {
	nodes := mesh(3, 0, 2)
	nodes[0].Status = StatusExited
	env := &evalEnv{nodes: nodes, labels: map[string]label{"@old": {Node: 0, PeerID: "peer0", Leader: "peer0", Term: 2}}}
	v := env.oneLeader([]int{1, 2}, &label{Leader: "peer0", Term: 2})
	if v.OK || !strings.Contains(v.Seen, "still the old leader node0") {
		t.Errorf("verdict %+v", v)
	}
	follow(nodes, 2, 2)
	v = env.oneLeader([]int{1, 2}, &label{Leader: "peer0", Term: 2})
	if v.OK || !strings.Contains(v.Seen, "term 2 not above 2") {
		t.Errorf("same term accepted as new: %+v", v)
	}
}

// The scale scenario: ready and leader times count from the first node's
// start, and its hold runs only when asked for, then for as long as asked.
func TestScaleMeasuresFromFirstStartAndHoldsOnlyWhenAsked(t *testing.T) {
	clock := newFakeClock()
	started := clock.Now().Add(-20 * time.Second) // the testnet's own start-up
	newCluster := func() *fakeCluster {
		c := &fakeCluster{nodes: mesh(3, 1, 2)}
		for i := range c.nodes {
			c.nodes[i].StartedAt = started.Add(time.Duration(i) * time.Second)
			c.nodes[i].Leader = ""
		}
		c.nodes[2].Status = "starting"
		c.onObserve = func(n int, nodes []NodeStatus) {
			switch n {
			case 3: // 3 s into the first wait
				nodes[2].Status = "healthy"
			case 5: // 1 s into the second
				follow(nodes, 1, 2)
			}
		}
		return c
	}
	sc, err := LoadScenario("scale")
	if err != nil {
		t.Fatal(err)
	}

	e := &Engine{Cluster: newCluster(), Clock: clock}
	rep, err := e.Run(context.Background(), sc, ReportTestnet{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Measurements["ready"] != 3 || rep.FromStart["ready"] != 23 {
		t.Errorf("ready: %vs in the wait, %vs from the first start; want 3 and 23", rep.Measurements["ready"], rep.FromStart["ready"])
	}
	if rep.FromStart["leader"] != 24 {
		t.Errorf("leader: %vs from the first start, want 24", rep.FromStart["leader"])
	}
	if hold := rep.Steps[2]; !hold.Skipped || hold.Hold != nil || hold.Seconds != 0 {
		t.Errorf("optional hold without --hold: %+v, want skipped at once", hold)
	}

	clock = newFakeClock()
	started = clock.Now().Add(-20 * time.Second)
	e = &Engine{Cluster: newCluster(), Clock: clock, OptionalHold: 10 * time.Minute}
	rep, err = e.Run(context.Background(), sc, ReportTestnet{})
	if err != nil {
		t.Fatal(err)
	}
	if hold := rep.Steps[2]; hold.Skipped || hold.Hold == nil || hold.Seconds != 600 {
		t.Errorf("optional hold with --hold 10m: skipped=%v, %vs, want it held 600s", hold.Skipped, hold.Seconds)
	}
}

func TestHoldCountsExitsAsFalseAlarms(t *testing.T) {
	c := &fakeCluster{nodes: mesh(3, 0, 1), onObserve: func(n int, nodes []NodeStatus) {
		if n == 3 {
			nodes[2].Status, nodes[2].Process = StatusExited, ProcExited
		}
	}}
	rep, _, err := runScenario(t, c, "name: x\nsteps:\n  - hold: ready\n    for: 5s\n")
	if err == nil {
		t.Error("a hold in which a node exited passed")
	}
	if h := rep.Steps[0].Hold; h == nil || h.Exits != 1 || h.StatusChanges != 1 {
		t.Errorf("hold report %+v, want 1 exit among 1 status change", h)
	}
}

func TestOptionalBelongsToAHold(t *testing.T) {
	for _, y := range []string{
		"name: x\nsteps:\n  - wait: ready\n    optional: true\n",
		"name: x\nsteps:\n  - hold: ready\n",
	} {
		if _, err := ParseScenario([]byte(y), "t.yaml"); err == nil {
			t.Errorf("parsed %q", y)
		}
	}
	if _, err := ParseScenario([]byte("name: x\nsteps:\n  - hold: ready\n    optional: true\n"), "t.yaml"); err != nil {
		t.Errorf("an optional hold without for: %v", err)
	}
}

func TestMaxPeersBoundsTheDegreeAndWantsNobodyAlone(t *testing.T) {
	nodes := mesh(3, 0, 1)
	peers := func(n ...int) {
		for i, p := range n {
			nodes[i].Peers = &p
		}
	}
	env := &evalEnv{nodes: nodes}
	peers(2, 8, 4)
	if v := env.evalOne(CondMaxPeers, []int{0, 1, 2}, &Step{Peers: 8}); !v.OK || v.Seen != "at most 8" {
		t.Errorf("2, 8, 4 within 8: %+v", v)
	}
	peers(2, 9, 4)
	if v := env.evalOne(CondMaxPeers, []int{0, 1, 2}, &Step{Peers: 8}); v.OK || !strings.Contains(v.Seen, "node1 9") {
		t.Errorf("9 above 8 accepted: %+v", v)
	}
	peers(0, 3, 4)
	if v := env.evalOne(CondMaxPeers, []int{0, 1, 2}, &Step{Peers: 8}); v.OK || !strings.Contains(v.Seen, "node0 0") {
		t.Errorf("a node alone accepted: %+v", v)
	}
	nodes[2].Peers = nil
	if v := env.evalOne(CondMaxPeers, []int{1, 2}, &Step{Peers: 8}); v.OK || !strings.Contains(v.Seen, "peers unknown") {
		t.Errorf("an unread node accepted: %+v", v)
	}
	if sc := scrapeFor([]string{CondMaxPeers}); !sc.Summary {
		t.Error("max-peers does not read /health/summary")
	}
}
