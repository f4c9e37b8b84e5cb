package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// simBinary is the compiled test binary of testnet/sim (make build puts it
// beside bin/testnet). A simulated run needs testing/synctest, whose Test
// takes a *testing.T, so it is a test (TestRun) that this command runs
// with its flags, rather than an imitation of the testing package here.
const simBinary = "sim.test"

// sim runs N real nodes in one process over simulated links, in virtual
// time (docs/TESTNET.md, "Sim mode").
func (c *cli) sim(ctx context.Context, args []string) int {
	fs := c.flags("sim")
	n := fs.Int("n", 20, "nodes")
	seed := fs.Uint64("seed", 1, "seed: identities, topology, latency, loss")
	scenario := fs.String("scenario", "converge", "built-in scenario: converge, partition, kill-leader, zone-outage, inbound-only, outbound-only")
	report := fs.String("report", "", "write the JSON report here (default: stdout)")
	duration := fs.Duration("duration", 2*time.Minute, "whole run, simulated")
	latency := fs.Duration("latency", time.Millisecond, "one-way base latency per link")
	jitter := fs.Duration("jitter", 2*time.Millisecond, "bound of each node's extra one-way latency, drawn per node")
	bin := fs.String("sim-binary", "", "testnet/sim's test binary (default: "+simBinary+" beside this binary)")
	pos, _, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 || *n < 1 {
		fmt.Fprintln(c.stderr, "testnet sim: -n N (N >= 1) and flags only")
		return exitUsage
	}
	if *bin == "" {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(c.stderr, "testnet sim: %v\n", err)
			return exitFail
		}
		*bin = filepath.Join(filepath.Dir(self), simBinary)
	}
	if *report != "" {
		// The test binary runs in its package's directory's stead: give
		// it a path that means the same from anywhere.
		abs, err := filepath.Abs(*report)
		if err != nil {
			fmt.Fprintf(c.stderr, "testnet sim: %v\n", err)
			return exitFail
		}
		*report = abs
	}
	cmd := exec.CommandContext(ctx, *bin, "-test.run", "^TestRun$", "-test.timeout", "0",
		"-sim.n", fmt.Sprint(*n), "-sim.seed", fmt.Sprint(*seed), "-sim.scenario", *scenario,
		"-sim.duration", duration.String(), "-sim.report", *report,
		"-sim.latency", latency.String(), "-sim.jitter", jitter.String())
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return exitFail
		}
		fmt.Fprintf(c.stderr, "testnet sim: %v (make build builds %s)\n", err, simBinary)
		return exitFail
	}
	return exitOK
}
