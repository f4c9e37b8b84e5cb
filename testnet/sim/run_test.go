package sim

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// The flags of a run, for `bin/testnet sim`, which runs this package's
// compiled test binary (go test -c): testing/synctest.Test needs a
// *testing.T, so a simulated run is a test. Without -sim.scenario it is
// skipped. Arguments after -- are node flags for a testnet scenario.
var (
	simN        = flag.Int("sim.n", 0, "nodes to simulate (0: the scenario's testnet: nodes, else 20)")
	simSeed     = flag.Uint64("sim.seed", 1, "seed: identities, topology, latency, loss")
	simScenario = flag.String("sim.scenario", "", "a built-in sim scenario, or a testnet scenario's name or file (empty: skip TestRun)")
	simDuration = flag.Duration("sim.duration", 0, "built-in sim scenarios: whole run, simulated (default 2m); testnet scenarios: replaces every hold's for:")
	simHold     = flag.Duration("sim.hold", 0, "testnet scenarios: runs the optional holds for this long")
	simReport   = flag.String("sim.report", "", "write the JSON report here (default: stdout)")
	simLatency  = flag.Duration("sim.latency", time.Millisecond, "one-way base latency per link")
	simJitter   = flag.Duration("sim.jitter", 2*time.Millisecond, "bound of each node's extra one-way latency")
)

// TestRun is one simulated run, driven by the -sim.* flags.
func TestRun(t *testing.T) {
	if *simScenario == "" {
		t.Skip("no -sim.scenario: not a simulated run")
	}
	cfg := Config{N: *simN, Seed: *simSeed, Log: testLog(), Net: NetConfig{Latency: *simLatency, Jitter: *simJitter}}
	var out any
	var runErr error
	wall := time.Now()
	if IsBuiltin(*simScenario) {
		if cfg.N == 0 {
			cfg.N = DefaultNodes
		}
		var r Report
		synctest.Test(t, func(t *testing.T) {
			cfg.DataDir = t.TempDir()
			var err error
			r, err = Run(context.Background(), RunConfig{Config: cfg, Scenario: *simScenario, Duration: *simDuration, Progress: os.Stderr})
			if err != nil {
				t.Fatal(err)
			}
		})
		r.WallSeconds, r.MaxRSSMiB = time.Since(wall).Seconds(), MaxRSSMiB()
		out = r
		if len(r.Problems) > 0 {
			runErr = fmt.Errorf("sim %s, %d nodes, seed %d: %s", r.Scenario, r.Nodes, r.Seed, strings.Join(r.Problems, "; "))
		} else {
			fmt.Fprintf(os.Stderr, "PASS sim %s, %d nodes, seed %d: converged at %.1fs, %d of %d victims detected, no false alarm, no exit of a node not faulted\n",
				r.Scenario, r.Nodes, r.Seed, r.ConvergeSeconds, len(r.Victims), len(r.Victims))
		}
	} else {
		sc, err := testnet.LoadScenario(*simScenario)
		if err != nil {
			t.Fatal(err)
		}
		// After --: node flags, as testnet scenario passes them on.
		cfg.NodeArgs = flag.Args()
		var r *ScenarioReport
		synctest.Test(t, func(t *testing.T) {
			cfg.DataDir = t.TempDir()
			r, runErr = RunScenario(context.Background(), ScenarioConfig{Config: cfg, Scenario: sc,
				HoldFor: *simDuration, Hold: *simHold, Out: os.Stderr})
		})
		if r == nil {
			t.Fatal(runErr)
		}
		r.Sim.WallSeconds, r.Sim.MaxRSSMiB = time.Since(wall).Seconds(), MaxRSSMiB()
		out = r
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *simReport == "" {
		os.Stdout.Write(b)
	} else if err := os.WriteFile(*simReport, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		t.Fatal(runErr)
	}
}
