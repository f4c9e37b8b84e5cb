package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// simBinary is the compiled test binary of testnet/sim (make build puts it
// beside bin/testnet). A simulated run needs testing/synctest, whose Test
// takes a *testing.T, so it is a test (TestRun) that this command runs
// with its flags, rather than an imitation of the testing package here.
const simBinary = "sim.test"

// simScenarios are testnet/sim's own built-in scenarios, which win over a
// testnet scenario of the same name (cmd/testnet does not import the
// simulator; its test binary checks the name again).
var simScenarios = []string{"partition", "zone-outage", "inbound-only", "outbound-only"}

// sim runs N real nodes in one process over simulated links, in virtual
// time (docs/TESTNET.md, "Sim mode"): one of the simulator's own built-in
// scenarios, or a testnet scenario through the testnet's engine.
func (c *cli) sim(ctx context.Context, args []string) int {
	fs := c.flags("sim")
	n := fs.Int("n", 0, "nodes (default: a testnet scenario's testnet: nodes, else 20)")
	seed := fs.Uint64("seed", 1, "seed: identities, topology, latency, loss")
	scenario := fs.String("scenario", "converge", "the simulator's own ("+strings.Join(simScenarios, ", ")+") or a testnet scenario's name or file")
	report := fs.String("report", "", "write the JSON report here (default: stdout)")
	duration := fs.Duration("duration", 0, "the simulator's own scenarios: whole run, simulated (default 2m); testnet scenarios: replaces every hold's for:")
	hold := fs.Duration("hold", 0, "testnet scenarios: runs the optional holds for this long")
	latency := fs.Duration("latency", time.Millisecond, "one-way base latency per link")
	jitter := fs.Duration("jitter", 2*time.Millisecond, "bound of each node's extra one-way latency, drawn per node")
	bin := fs.String("sim-binary", "", "testnet/sim's test binary (default: "+simBinary+" beside this binary)")
	pos, nodeArgs, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 || *n < 0 {
		fmt.Fprintln(c.stderr, "testnet sim: flags only (-n N, N >= 1), then -- and node flags for a testnet scenario")
		return exitUsage
	}
	if !slices.Contains(simScenarios, *scenario) {
		// Fail before starting anything on a name or file that is no
		// scenario; the test binary loads it again from an absolute path.
		if _, err := testnet.LoadScenario(*scenario); err != nil {
			fmt.Fprintf(c.stderr, "testnet sim: %v (the simulator's own: %s)\n", err, strings.Join(simScenarios, ", "))
			return exitUsage
		}
		if _, err := os.Stat(*scenario); err == nil {
			abs, err := filepath.Abs(*scenario)
			if err != nil {
				return c.fail(err)
			}
			*scenario = abs
		}
	} else if len(nodeArgs) > 0 {
		fmt.Fprintf(c.stderr, "testnet sim: node flags apply to testnet scenarios, not to %s\n", *scenario)
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
	argv := []string{"-test.run", "^TestRun$", "-test.timeout", "0",
		"-sim.n", fmt.Sprint(*n), "-sim.seed", fmt.Sprint(*seed), "-sim.scenario", *scenario,
		"-sim.duration", duration.String(), "-sim.hold", hold.String(), "-sim.report", *report,
		"-sim.latency", latency.String(), "-sim.jitter", jitter.String()}
	if len(nodeArgs) > 0 {
		argv = append(append(argv, "--"), nodeArgs...)
	}
	cmd := exec.CommandContext(ctx, *bin, argv...)
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
