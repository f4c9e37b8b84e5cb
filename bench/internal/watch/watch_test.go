package watch

import (
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// mesh builds n healthy nodes named nodeI with peer IDs pI, all following
// leader p0 in term 1.
func mesh(n int) []testnet.NodeStatus {
	out := make([]testnet.NodeStatus, n)
	for i := range out {
		out[i] = testnet.NodeStatus{
			Node: i, Name: "node" + string(rune('0'+i)), PeerID: "p" + string(rune('0'+i)),
			Process: testnet.ProcRunning, Status: StatusHealthy, Leader: "p0", Term: 1,
		}
	}
	return out
}

func TestConverged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func([]testnet.NodeStatus)
		level  Level
		except []int
		ok     bool
	}{
		{"all healthy, one leader", func([]testnet.NodeStatus) {}, Healthy, nil, true},
		{"a degraded node is ready but not healthy", func(n []testnet.NodeStatus) { n[2].Status = StatusDegraded }, Healthy, nil, false},
		{"a degraded node still counts as ready", func(n []testnet.NodeStatus) { n[2].Status = StatusDegraded }, Ready, nil, true},
		{"split leadership", func(n []testnet.NodeStatus) { n[1].Leader = "p1" }, Ready, nil, false},
		{"no leader known", func(n []testnet.NodeStatus) {
			for i := range n {
				n[i].Leader = ""
			}
		}, Ready, nil, false},
		{"the leader must be one of the set", func(n []testnet.NodeStatus) {}, Ready, []int{0}, false},
		{"an excluded node does not count", func(n []testnet.NodeStatus) { n[2].Status = testnet.StatusExited; n[2].Leader = "" }, Healthy, []int{2}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := mesh(3)
			tc.edit(n)
			if _, ok := Converged(n, tc.level, tc.except...); ok != tc.ok {
				t.Fatalf("converged = %v, want %v", ok, tc.ok)
			}
		})
	}
}

func TestDetectorTimesTheTargetLeavingHealthyAndItsCheck(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := NewDetector(Spec{Target: 2, Watch: []string{EventNonHealthy, EventCheck}, Checks: []string{"pubsub-roundtrip"}}, t0)

	n := mesh(3)
	n[2].Failing = []string{"resources"} // not the expected check
	d.Observe(t0.Add(time.Second), n)
	if d.Done() {
		t.Fatal("done before anything happened")
	}
	n = mesh(3)
	n[2].Status = "unreachable" // the harness's timeout, not the node's verdict
	d.Observe(t0.Add(2*time.Second), n)
	n = mesh(3)
	n[2].Status, n[2].Message = "degraded", "check election-stability failing: no leader known"
	d.Observe(t0.Add(3*time.Second), n)
	n[2].Status, n[2].Failing = "unhealthy", []string{"p2p-connectivity", "pubsub-roundtrip"}
	d.Observe(t0.Add(4500*time.Millisecond), n)

	if !d.Done() {
		t.Fatal("not done after both events")
	}
	o := d.Outcome()
	if *o.NonHealthy != 3*time.Second || o.NonHealthyStatus != "degraded" || o.NonHealthyMessage != "check election-stability failing: no leader known" {
		t.Errorf("non-healthy at %v (%s), want 3s (degraded)", *o.NonHealthy, o.NonHealthyStatus)
	}
	if *o.Check != 4500*time.Millisecond || o.CheckName != "pubsub-roundtrip on node2" {
		t.Errorf("check at %v (%s), want 4.5s on node2", *o.Check, o.CheckName)
	}
	if o.Failover != nil || len(o.OthersNonHealthy) != 0 {
		t.Errorf("unexpected failover %v or collateral %v", o.Failover, o.OthersNonHealthy)
	}
}

func TestDetectorAnyCheckAndChecksElsewhere(t *testing.T) {
	t0 := time.Unix(0, 0)
	any := NewDetector(Spec{Target: 1, Watch: []string{EventCheck}}, t0)
	n := mesh(3)
	n[1].Failing = []string{"p2p-connectivity"}
	any.Observe(t0.Add(time.Second), n)
	if o := any.Outcome(); o.Check == nil || o.CheckName != "p2p-connectivity on node1" {
		t.Fatalf("any check: %+v", o)
	}

	elsewhere := NewDetector(Spec{Target: 0, Watch: []string{EventCheck}, Checks: []string{"election-stability"}, ChecksAnywhere: true}, t0)
	n = mesh(3)
	n[2].Failing = []string{"election-stability"}
	n[2].Status = "degraded"
	elsewhere.Observe(t0.Add(time.Second), n)
	o := elsewhere.Outcome()
	if o.Check == nil || o.CheckName != "election-stability on node2" {
		t.Fatalf("check on a follower: %+v", o)
	}
	if len(o.OthersNonHealthy) != 1 || o.OthersNonHealthy[0] != "node2" {
		t.Fatalf("collateral = %v, want [node2]", o.OthersNonHealthy)
	}
}

func TestDetectorFailoverNeedsAgreementOnANewLeaderWithAHigherTerm(t *testing.T) {
	t0 := time.Unix(0, 0)
	d := NewDetector(Spec{Target: 0, Watch: []string{EventFailover}, OldLeader: "p0", OldTerm: 1}, t0)

	killed := func() []testnet.NodeStatus {
		n := mesh(4)
		n[0].Status, n[0].Leader = testnet.StatusExited, ""
		return n
	}
	steps := []struct {
		edit func([]testnet.NodeStatus)
		done bool
	}{
		{func(n []testnet.NodeStatus) {}, false}, // still following the dead leader
		{func(n []testnet.NodeStatus) { n[1].Leader, n[1].Term = "p1", 2 }, false},
		{func(n []testnet.NodeStatus) { // agreed, but the term did not rise
			for i := 1; i < 4; i++ {
				n[i].Leader, n[i].Term = "p1", 1
			}
		}, false},
		{func(n []testnet.NodeStatus) { // agreed on a node outside the set
			for i := 1; i < 4; i++ {
				n[i].Leader, n[i].Term = "p9", 2
			}
		}, false},
		{func(n []testnet.NodeStatus) {
			for i := 1; i < 4; i++ {
				n[i].Leader, n[i].Term = "p2", 2
			}
		}, true},
	}
	for i, s := range steps {
		n := killed()
		s.edit(n)
		d.Observe(t0.Add(time.Duration(i+1)*time.Second), n)
		if d.Done() != s.done {
			t.Fatalf("step %d: done = %v, want %v", i, d.Done(), s.done)
		}
	}
	if got := *d.Outcome().Failover; got != 5*time.Second {
		t.Fatalf("failover at %v, want 5s", got)
	}
}

func TestTrackerCountsStatusAndLeaderChangesButNotTimeouts(t *testing.T) {
	t0 := time.Unix(0, 0)
	tr := NewTracker(mesh(3))
	if ch := tr.Observe(t0, mesh(3)); len(ch) != 0 {
		t.Fatalf("changes in a steady mesh: %v", ch)
	}
	n := mesh(3)
	n[1].Status = testnet.StatusUnreachable // a poll that timed out
	if ch := tr.Observe(t0.Add(time.Second), n); len(ch) != 0 || tr.Unreachable != 1 {
		t.Fatalf("timeout counted as a change: %v (unreachable %d)", ch, tr.Unreachable)
	}
	n = mesh(3)
	n[2].Status, n[2].Message = StatusDegraded, "election-stability failing"
	n[0].Leader = "p1"
	ch := tr.Observe(t0.Add(2*time.Second), n)
	if len(ch) != 2 {
		t.Fatalf("changes = %v, want a status and a leader change", ch)
	}
	if ch[0].Node != "node0" || ch[0].Kind != "leader" || ch[1].Node != "node2" || ch[1].To != StatusDegraded {
		t.Fatalf("changes = %+v", ch)
	}
	if ch := tr.Observe(t0.Add(3*time.Second), mesh(3)); len(ch) != 2 {
		t.Fatalf("changes back = %v, want 2", ch)
	}
}

func TestLeaderlessIsAMeshWithoutAnElection(t *testing.T) {
	n := mesh(3)
	if Leaderless(n, Healthy) {
		t.Fatal("a mesh with a leader counted as leaderless")
	}
	for i := range n {
		n[i].Leader = ""
	}
	if !Leaderless(n, Healthy) {
		t.Fatal("healthy nodes naming no leader are leaderless")
	}
	n[1].Status = StatusDegraded
	if Leaderless(n, Healthy) || !Leaderless(n, Ready) {
		t.Fatal("the level is not applied")
	}
	if !Leaderless(n, Healthy, 1) {
		t.Fatal("an excluded node still counts")
	}
}

func TestDetectorCountsOnlyWhatChangedAfterTheFault(t *testing.T) {
	t0 := time.Unix(0, 0)
	before := mesh(3)
	before[1].Status = StatusDegraded
	before[1].Failing = []string{"election-stability"}
	d := NewDetector(Spec{Target: 0, Watch: []string{EventCheck}, Checks: []string{"election-stability"}, ChecksAnywhere: true, Before: before}, t0)

	n := mesh(3)
	n[1].Status, n[2].Status = StatusDegraded, StatusDegraded
	n[1].Failing = []string{"election-stability"} // failing before the fault: not its doing
	d.Observe(t0.Add(time.Second), n)
	o := d.Outcome()
	if len(o.OthersNonHealthy) != 1 || o.OthersNonHealthy[0] != "node2" {
		t.Fatalf("collateral = %v, want only node2 (node1 was degraded before the fault)", o.OthersNonHealthy)
	}
	if o.Check != nil {
		t.Fatalf("a check failing before the fault counted as detection: %s", o.CheckName)
	}
	n[2].Failing = []string{"election-stability"}
	d.Observe(t0.Add(2*time.Second), n)
	if o := d.Outcome(); o.Check == nil || o.CheckName != "election-stability on node2" {
		t.Fatalf("check = %+v", o)
	}
}
