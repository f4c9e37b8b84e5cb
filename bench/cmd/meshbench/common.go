package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/watch"
	"github.com/meshhealth/meshhealth/testnet"
)

// commonFlags are taken by every measuring subcommand.
type commonFlags struct {
	out     string // results directory
	work    string // where testnets and temporary files live
	nodeBin string
	verbose bool
	notes   noteList
}

type noteList []string

func (n *noteList) String() string     { return strings.Join(*n, "; ") }
func (n *noteList) Set(s string) error { *n = append(*n, s); return nil }

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.out, "out", "bin/bench-results", "results directory (one JSON file per section)")
	fs.StringVar(&c.work, "work", os.TempDir(), "directory for testnets and temporary files")
	fs.StringVar(&c.nodeBin, "node-bin", "bin/meshhealth", "the node binary")
	fs.BoolVar(&c.verbose, "v", false, "log the testnet's own actions")
	fs.Var(&c.notes, "note", "a note for the report about how this section ran (repeatable)")
}

func (c *commonFlags) testnetOpts(log io.Writer) testnet.Options {
	if !c.verbose {
		return testnet.Options{}
	}
	return testnet.Options{Log: slog.New(slog.NewTextHandler(log, nil))}
}

// newFlags is a flag set that reports errors instead of exiting.
func newFlags(name string, log io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("meshbench "+name, flag.ContinueOnError)
	fs.SetOutput(log)
	return fs
}

// newHeader starts a section's header with the exact command line.
func newHeader(section string) results.Header {
	return results.Header{
		Section: section, Command: commandLine(os.Args), Started: time.Now().UTC(),
		LoadAvg: [2]float64{results.LoadAvg1(), 0},
	}
}

// header is newHeader with the notes given on the command line.
func (c *commonFlags) header(section string) results.Header {
	h := newHeader(section)
	h.Notes = append(h.Notes, c.notes...)
	return h
}

func finish(h *results.Header) {
	h.Finished = time.Now().UTC()
	h.LoadAvg[1] = results.LoadAvg1()
}

// commandLine quotes argv the way a shell would need it.
func commandLine(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\*?;&|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// upTestnet starts a testnet; a readiness timeout is not an error (the
// caller waits for its own condition), anything else is, and leaves
// nothing running.
func upTestnet(ctx context.Context, o testnet.UpOptions, opts testnet.Options, log io.Writer) (*testnet.Testnet, error) {
	fmt.Fprintf(log, "meshbench: starting %d %s nodes in %s\n", o.N, o.Mode, o.Dir)
	// A directory left by an interrupted earlier run would refuse up.
	_ = testnet.Down(ctx, o.Dir, testnet.DownOptions{Grace: 5 * time.Second}, opts)
	t, err := testnet.Up(ctx, o, opts)
	if err != nil && !errors.Is(err, testnet.ErrNotReady) {
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(log, "meshbench: %v; waiting on\n", err)
	}
	return t, nil
}

// downTestnet stops a testnet whatever state the run is in: it ignores the
// caller's cancellation so that Ctrl-C still cleans up.
func downTestnet(ctx context.Context, dir string, opts testnet.Options, log io.Writer) {
	ctx = context.WithoutCancel(ctx)
	if err := testnet.Down(ctx, dir, testnet.DownOptions{Grace: 15 * time.Second}, opts); err != nil {
		fmt.Fprintf(log, "meshbench: down %s: %v\n", dir, err)
	}
}

// waitFor polls every node each poll until cond holds or timeout passes;
// it returns the last observation and when cond first held.
func waitFor(ctx context.Context, t *testnet.Testnet, poll, timeout time.Duration,
	cond func([]testnet.NodeStatus) bool) ([]testnet.NodeStatus, time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		nodes, err := t.Observe(ctx, testnet.Scrape{})
		at := time.Now()
		if err != nil {
			return nil, at, err
		}
		if cond(nodes) {
			return nodes, at, nil
		}
		if at.After(deadline) {
			return nodes, at, fmt.Errorf("not within %v: %s", timeout, testnet.Summarize(nodes))
		}
		if err := sleep(ctx, poll); err != nil {
			return nodes, at, err
		}
	}
}

// noElectionAfter is how long every node must meet the level while none
// names a leader before the harness takes the build to have no election
// (a node of such a build never names one) and goes on without it.
const noElectionAfter = 20 * time.Second

// settleState says how settled ended: with one leader, or leaderless (no
// election in this build) since a moment noElectionAfter before.
type settleState struct {
	leaderless bool
	since      time.Time
}

// settled returns a check that holds when every node but except meets the
// level and follows one leader, or has met the level for noElectionAfter
// while naming no leader at all. It remembers across calls how long the
// leaderless state has lasted.
func settled(level watch.Level) func(n []testnet.NodeStatus, except []int) (settleState, bool) {
	var since time.Time
	return func(n []testnet.NodeStatus, except []int) (settleState, bool) {
		now := time.Now()
		if _, ok := watch.Converged(n, level, except...); ok {
			return settleState{since: now}, true
		}
		if !watch.Leaderless(n, level, except...) {
			since = time.Time{}
			return settleState{}, false
		}
		if since.IsZero() {
			since = now
		}
		if now.Sub(since) < noElectionAfter {
			return settleState{}, false
		}
		return settleState{leaderless: true, since: since}, true
	}
}

// settledCond adapts settled to waitFor, recording how it ended in st.
func settledCond(level watch.Level, st *settleState) func([]testnet.NodeStatus) bool {
	check := settled(level)
	return func(n []testnet.NodeStatus) bool {
		s, ok := check(n, nil)
		if ok {
			*st = s
		}
		return ok
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

func durPtr(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	return seconds(*d)
}
