package sim

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// The flags of a run, for `bin/testnet sim`, which runs this package's
// compiled test binary (go test -c): testing/synctest.Test needs a
// *testing.T, so a simulated run is a test. Without -sim.n it is skipped.
var (
	simN        = flag.Int("sim.n", 0, "nodes to simulate (0: skip TestRun)")
	simSeed     = flag.Uint64("sim.seed", 1, "seed: identities, topology, latency, loss")
	simScenario = flag.String("sim.scenario", "converge", "built-in scenario")
	simDuration = flag.Duration("sim.duration", 2*time.Minute, "whole run, simulated")
	simReport   = flag.String("sim.report", "", "write the JSON report here (default: stdout)")
	simLatency  = flag.Duration("sim.latency", time.Millisecond, "one-way base latency per link")
	simJitter   = flag.Duration("sim.jitter", 2*time.Millisecond, "bound of each node's extra one-way latency")
)

// TestRun is one simulated run, driven by the -sim.* flags.
func TestRun(t *testing.T) {
	if *simN == 0 {
		t.Skip("no -sim.n: not a simulated run")
	}
	var r Report
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		var err error
		r, err = Run(context.Background(), RunConfig{
			Config: Config{N: *simN, Seed: *simSeed, DataDir: t.TempDir(), Log: testLog(),
				Net: NetConfig{Latency: *simLatency, Jitter: *simJitter}},
			Scenario: *simScenario,
			Duration: *simDuration,
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	r.WallSeconds = time.Since(wall).Seconds()
	r.MaxRSSMiB = MaxRSSMiB()
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	if *simReport == "" {
		os.Stdout.Write(out)
	} else if err := os.WriteFile(*simReport, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
