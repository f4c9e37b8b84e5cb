// Command meshbench is the harness behind make bench (bench/run.sh). Each
// subcommand measures one section of the benchmark's targets (held in
// bench/internal/report) against real nodes and writes its raw measurements as JSON into the
// results directory; report turns that directory into docs/BENCHMARKS.md.
//
//	meshbench start   -out DIR -mode quick|full    the run's machine, commit and date
//	meshbench http    -out DIR ...                 1. /health against a static handler, then while a check hangs
//	meshbench detect  -out DIR -config ours|reference [-n N] ...  2. fault detection in a netns testnet (N = 5, and 50 for issue 25)
//	meshbench mesh    -out DIR -n N [-soak D] ...  5. convergence and traffic at N nodes; 3. the soak
//	meshbench idle    -out DIR ...                 4. CPU and RSS of idle nodes against bare libp2p hosts
//	meshbench scale   -out DIR -n N [-hold D] ...  7. the scale curve at N: ready, leader, peers, term, intake, CPU, RSS at rest vs bare hosts of the same degree
//	meshbench gobench -out DIR -raw FILE ...       6. go test -bench output, parsed
//	meshbench recovery -out DIR [-reps R] ...      8. a netns zone cut off and healed within the recovery budget
//	meshbench report  -out DIR -doc FILE           docs/BENCHMARKS.md from the results
//
// Every subcommand that starts a testnet stops it on the way out, also on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

type subcommand struct {
	name string
	help string
	run  func(ctx context.Context, args []string, log io.Writer) error
}

var subcommands = []subcommand{
	{"start", "record the machine, commit, mode and date of this run", runStart},
	{"http", "section 1: /health throughput and latency against a static handler", runHTTP},
	{"detect", "section 2: time to detect each fault in a netns testnet", runDetect},
	{"mesh", "sections 5 and 3: convergence and traffic at N nodes, and the soak", runMesh},
	{"idle", "section 4: CPU and RSS of idle nodes against bare libp2p hosts", runIdle},
	{"scale", "section 7: one point of the scale curve (issues 11, 25): ready, leader, peers, term, intake, CPU, RSS at rest, beside bare hosts", runCurve},
	{"gobench", "section 6: parse go test -bench output", runGoBench},
	{"recovery", "section 8: a zone cut off and healed within the recovery budget, repeated", runRecovery},
	{"report", "write docs/BENCHMARKS.md from the results", runReport},
}

func run(ctx context.Context, args []string, log io.Writer) int {
	if len(args) == 0 {
		usage(log)
		return 2
	}
	for _, s := range subcommands {
		if s.name == args[0] {
			if err := s.run(ctx, args[1:], log); err != nil {
				fmt.Fprintf(log, "meshbench %s: %v\n", s.name, err)
				return 1
			}
			return 0
		}
	}
	usage(log)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: meshbench SUBCOMMAND [flags]")
	for _, s := range subcommands {
		fmt.Fprintf(w, "  %-8s %s\n", s.name, s.help)
	}
}
