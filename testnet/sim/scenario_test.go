package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/meshhealth/meshhealth/testnet"
)

// runScenario runs a testnet scenario on n simulated nodes (0: the
// scenario's) through the testnet's engine.
func runScenario(t *testing.T, sc *testnet.Scenario, n int) (*ScenarioReport, error) {
	t.Helper()
	var rep *ScenarioReport
	var err error
	synctest.Test(t, func(t *testing.T) {
		out := io.Discard
		if testing.Verbose() {
			out = t.Output()
		}
		rep, err = RunScenario(context.Background(), ScenarioConfig{
			Config:   Config{N: n, Seed: 1, DataDir: t.TempDir(), Log: testLog()},
			Scenario: sc,
			Out:      out,
		})
	})
	if rep == nil {
		t.Fatal(err)
	}
	return rep, err
}

func builtin(t *testing.T, name string) *testnet.Scenario {
	t.Helper()
	sc, err := testnet.LoadScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// The testnet's kill-leader scenario, unchanged, on 10 simulated nodes:
// the leader's crash is a chaos step of the engine, the others agree on
// a new leader with a higher term, and the report carries both the
// engine's measurements and the simulation's figures.
func TestKillLeaderScenarioRunsOnTheSimulatedMesh(t *testing.T) {
	rep, err := runScenario(t, builtin(t, "kill-leader"), 10)
	if err != nil {
		t.Fatalf("%v\nsteps: %+v", err, rep.Steps)
	}
	if _, ok := rep.Measurements["failover"]; !ok || !rep.Passed {
		t.Errorf("passed %v, measurements %v: want a measured failover", rep.Passed, rep.Measurements)
	}
	if rep.Testnet.Mode != ModeSim || rep.Sim.Nodes != 10 || rep.Sim.ConvergeSeconds <= 0 || rep.Sim.MessagesPerNodeSecond <= 0 {
		t.Errorf("testnet %+v, figures %+v: want sim mode, 10 nodes, a convergence time and a message rate", rep.Testnet, rep.Sim)
	}
	if len(rep.Sim.Exits) > 0 {
		t.Errorf("exits %v: the crash was the scenario's, and nobody else should stop", rep.Sim.Exits)
	}
	var crashed []string
	for _, n := range rep.Final {
		if n.Status == testnet.StatusExited {
			if n.Exit == nil || n.Exit.Code != ExitKilled {
				t.Errorf("%s exited with %+v, want code %d (crashed)", n.Name, n.Exit, ExitKilled)
			}
			crashed = append(crashed, n.Name)
		}
	}
	if len(crashed) != 1 {
		t.Errorf("exited at the end: %v, want the old leader alone", crashed)
	}
}

// partition-heal (3 nodes, --shutdown-on-critical=false from its
// node_args): the partitioned follower leaves healthy while the others
// stay healthy, and after the heal every node is healthy under one leader.
func TestPartitionHealScenarioRunsOnTheSimulatedMesh(t *testing.T) {
	rep, err := runScenario(t, builtin(t, "partition-heal"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sim.Nodes != 3 {
		t.Errorf("%d nodes: want the scenario's 3", rep.Sim.Nodes)
	}
	for _, m := range []string{"detection", "recovery"} {
		if _, ok := rep.Measurements[m]; !ok {
			t.Errorf("measurements %v: no %s", rep.Measurements, m)
		}
	}
}

// The chaos actions a scenario can name besides kill and partition: a
// frozen node is unreachable, and once thawed it is back without having
// shut itself down for the silence it heard (past its startup grace, as
// a frozen process would not); a restarted node (by crash or gracefully,
// as the leader) comes back under its identity and the mesh converges
// again; the node's own network isolate fault (its /debug/fault) makes it
// shut itself down with code 3.
func TestFreezeAndRestartsAsScenarioSteps(t *testing.T) {
	sc, err := testnet.ParseScenario([]byte(`
name: freeze-restart
testnet:
  nodes: 4
steps:
  - wait: converged
    timeout: 60s
  - wait: past-grace
    timeout: 60s
  - chaos: stop
    node: any-follower
    as: frozen
  - assert: not-ready
    nodes: ["@frozen"]
  - hold: ready
    except: ["@frozen"]
    for: 30s
  - chaos: cont
    node: "@frozen"
  - wait: converged
    timeout: 20s
  - chaos: restart
    node: "@frozen"
  - wait: converged
    timeout: 60s
  - chaos: graceful-restart
    node: leader
    as: old
  - wait: [converged, new-leader]
    since: "@old"
    timeout: 60s
  - chaos: fault
    node: any-follower
    component: network
    fault: isolate
    as: isolated
  - wait: exited
    code: 3
    nodes: ["@isolated"]
    # It may be the node just restarted, still in its startup grace (30 s).
    timeout: 60s
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runScenario(t, sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	isolated := rep.Labels["@isolated"].Node
	if len(rep.Sim.Exits) != 1 || !strings.HasPrefix(rep.Sim.Exits[0], fmt.Sprintf("node%d: code 3", isolated)) {
		t.Errorf("exits %v: want node%d's alone (code 3, the isolate fault's); every other stop was the scenario's", rep.Sim.Exits, isolated)
	}
	for _, n := range rep.Final {
		if n.Node != isolated && (n.Status == testnet.StatusExited || n.StartedAt.IsZero()) {
			t.Errorf("%s at the end: %s, started %v", n.Name, n.Status, n.StartedAt)
		}
	}
}

// A chaos action the simulation has no meaning for fails its step with an
// error that names it, rather than doing nothing.
func TestUnknownChaosIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := Start(context.Background(), Config{N: 1, Seed: 1, DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		err = NewCluster(m).Apply(context.Background(), testnet.Chaos{Action: "explode", Node: 0})
		if err == nil || !strings.Contains(err.Error(), `"explode"`) || !strings.Contains(err.Error(), "sim mode") {
			t.Errorf("err %v: want one naming explode and sim mode", err)
		}
		var f *testnet.StepFailure
		if errors.As(err, &f) {
			t.Errorf("err %v is a step failure; want a plain error the engine wraps", err)
		}
		if !slices.Contains(SimChaos, testnet.ChaosKill) {
			t.Error("kill is no sim chaos")
		}
	})
}
