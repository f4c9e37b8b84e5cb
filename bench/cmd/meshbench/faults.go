package main

import (
	"fmt"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/watch"
	"github.com/meshhealth/meshhealth/testnet"
)

// Roles a fault picks its target by.
const (
	roleLeader   = "leader"
	roleFollower = "follower"
)

// faultDef is one fault of section 2: what is done, to whom, what should
// follow, and how it is undone.
type faultDef struct {
	Name string
	Role string
	// Apply is the chaos with the target filled in later.
	Apply testnet.Chaos
	Undo  string // a testnet chaos action: heal, cont, restart, clear
	// Watch are the events the fault is judged on and waited for;
	// Linger are recorded when they come while the run lingers after
	// Watch is complete, but are not waited for.
	Watch          []string
	Linger         []string
	Checks         []string // the checks that should fail (any); none means any check
	ChecksAnywhere bool
	// Why says in one line why these events, for the report.
	Why string
}

func fault(component, f string) testnet.Chaos {
	return testnet.Chaos{Action: testnet.ChaosFault, Component: component, Fault: f}
}

// faultDefs are the faults of the issue in the order a round applies them:
// the leader's first, so that by the first follower fault every node has
// run past its warm-up.
var faultDefs = []faultDef{
	{
		Name: "kill-leader", Role: roleLeader, Apply: testnet.Chaos{Action: testnet.ChaosKill}, Undo: testnet.ChaosRestart,
		Watch: []string{watch.EventFailover},
		Why:   "SIGKILL of the leader: no resign; the others must agree on a new leader",
	},
	{
		Name: "stop-leader", Role: roleLeader, Apply: testnet.Chaos{Action: testnet.ChaosStop}, Undo: testnet.ChaosCont,
		Watch: []string{watch.EventFailover},
		Why:   "SIGSTOP of the leader: its sockets stay open and silent; the others must agree on a new leader",
	},
	{
		Name: "election-freeze-heartbeats", Role: roleLeader, Apply: fault("election", "freeze-heartbeats"), Undo: testnet.ChaosClear,
		Watch: []string{watch.EventFailover}, Linger: []string{watch.EventCheck},
		Checks: []string{"election-stability"}, ChecksAnywhere: true,
		Why: "the leader stops its heartbeats but believes it leads: the others must elect another; election-stability may fail on the way",
	},
	{
		Name: "partition", Role: roleFollower, Apply: testnet.Chaos{Action: testnet.ChaosPartition}, Undo: testnet.ChaosHeal,
		Watch: []string{watch.EventNonHealthy, watch.EventCheck}, Checks: []string{"pubsub-roundtrip", "p2p-connectivity"},
		Why: "a follower's link is taken down; it must see that it is cut off (pubsub-roundtrip or p2p-connectivity)",
	},
	{
		Name: "pubsub-drop-inbound", Role: roleFollower, Apply: fault("pubsub", "drop-inbound"), Undo: testnet.ChaosClear,
		Watch: []string{watch.EventNonHealthy, watch.EventCheck}, Checks: []string{"pubsub-roundtrip"},
		Why: "the follower ignores every inbound probe-topic message: pubsub-roundtrip must fail",
	},
	{
		// Issue 25: the node's own failure on one direction of its path.
		// The node may not offer these (an older build): the run then
		// records "unknown fault" and the report says it is not supported.
		Name: "pubsub-outbound-only", Role: roleFollower, Apply: fault("pubsub", "outbound-only"), Undo: testnet.ChaosClear,
		Watch: []string{watch.EventNonHealthy, watch.EventCheck},
		Why:   "one direction of the follower's pubsub path is cut (the node's outbound-only fault): it must see its own failure",
	},
	{
		Name: "pubsub-inbound-only", Role: roleFollower, Apply: fault("pubsub", "inbound-only"), Undo: testnet.ChaosClear,
		Watch: []string{watch.EventNonHealthy, watch.EventCheck},
		Why:   "the other direction is cut (the node's inbound-only fault): it must see its own failure",
	},
	{
		Name: "dht-fail-put", Role: roleFollower, Apply: fault("dht", "fail-put"), Undo: testnet.ChaosClear,
		Watch: []string{watch.EventNonHealthy, watch.EventCheck}, Checks: []string{"dht-integrity"},
		Why: "every DHT put of the follower fails: dht-integrity must fail (its interval is 30 s)",
	},
	{
		Name: "scheduler-stall", Role: roleFollower, Apply: fault("scheduler", "stall"), Undo: testnet.ChaosClear,
		Watch: []string{watch.EventNonHealthy, watch.EventCheck},
		Why:   "the follower's check scheduler blocks: its results must go stale and count as failures",
	},
}

// selectFaults returns the named faults ("all" for every one).
func selectFaults(list string) ([]faultDef, error) {
	if list == "" || list == "all" {
		return faultDefs, nil
	}
	var out []faultDef
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, f := range faultDefs {
			if f.Name == name {
				out = append(out, f)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown fault %q; known: %s", name, faultNames())
		}
	}
	return out, nil
}

func faultNames() string {
	names := make([]string, len(faultDefs))
	for i, f := range faultDefs {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// detectArgs are given to every node of a detection testnet. A detected
// node must stay up to be healed, so it does not shut itself down; and the
// benchmark changes leaders on purpose several times a round, which
// election-stability's flapping rule (more than 3 leadership changes in 10
// minutes) would otherwise report on every node for the rest of the run.
var detectArgs = []string{"--shutdown-on-critical=false", "--election-max-leader-changes=1000"}

// referenceArgs set the reference health package's default intervals and
// timeouts (seed 004: pubsub 30 s / 10 s, DHT 60 s / 20 s, election
// 15 s / 5 s, peer connectivity 30 s, MaxFailedProbes 3) through our flags.
// The reference re-probes only on its interval; our retry interval is one
// value for every check, so it is set to 30 s, the pubsub and connectivity
// interval, the checks a partition trips.
var referenceArgs = []string{
	"--probe-pubsub-interval=30s", "--probe-pubsub-timeout=10s",
	"--probe-dht-interval=60s", "--probe-dht-timeout=20s",
	"--probe-election-interval=15s", "--probe-election-timeout=5s",
	"--probe-connectivity-interval=30s",
	"--failure-threshold=3", "--retry-interval=30s",
}
