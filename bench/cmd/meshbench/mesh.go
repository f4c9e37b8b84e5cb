package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/watch"
	"github.com/meshhealth/meshhealth/testnet"
)

type meshBench struct {
	commonFlags
	nodes   int
	mode    string
	soak    time.Duration
	rate    time.Duration
	poll    time.Duration
	timeout time.Duration
}

// runMesh is section 5 for one mesh size (time until every node is ready
// with one leader; traffic per node per minute after that) and, with
// -soak, section 3 on the same nodes (every status and leader change
// after convergence).
func runMesh(ctx context.Context, args []string, log io.Writer) error {
	b := meshBench{}
	fs := newFlags("mesh", log)
	b.register(fs)
	fs.IntVar(&b.nodes, "n", 10, "nodes")
	fs.StringVar(&b.mode, "mode", "netns", "testnet mode")
	fs.DurationVar(&b.soak, "soak", 0, "watch for status and leader changes this long after convergence (0: no soak)")
	fs.DurationVar(&b.rate, "rate", 60*time.Second, "window for the traffic rates after convergence (the soak's length when soaking)")
	fs.DurationVar(&b.poll, "poll", time.Second, "soak polling period")
	fs.DurationVar(&b.timeout, "timeout", 300*time.Second, "how long to wait for convergence")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mode, err := testnet.ParseMode(b.mode)
	if err != nil {
		return err
	}
	sc := results.Scale{Header: b.header("scale"), Nodes: b.nodes, Mode: string(mode)}
	var soak *results.Soak
	if b.soak > 0 {
		soak = &results.Soak{Header: b.header("soak"), Nodes: b.nodes, Mode: string(mode), PollMs: int(b.poll / time.Millisecond)}
	}
	err = b.run(ctx, mode, &sc, soak, log)
	if err != nil {
		sc.Notes = append(sc.Notes, "incomplete: "+err.Error())
	}
	finish(&sc.Header)
	if werr := results.Write(b.out, fmt.Sprintf("scale-%d.json", b.nodes), sc); werr != nil {
		return werr
	}
	if soak != nil {
		if err != nil {
			soak.Notes = append(soak.Notes, "incomplete: "+err.Error())
		}
		finish(&soak.Header)
		if werr := results.Write(b.out, results.FileSoak, soak); werr != nil {
			return werr
		}
	}
	return err
}

func (b *meshBench) run(ctx context.Context, mode testnet.Mode, sc *results.Scale, soak *results.Soak, log io.Writer) error {
	dir := filepath.Join(b.work, fmt.Sprintf("mesh-%d", b.nodes))
	opts := b.testnetOpts(log)
	upStart := time.Now()
	t, err := upTestnet(ctx, testnet.UpOptions{Dir: dir, N: b.nodes, Mode: mode, NodeBin: b.nodeBin, ReadyTimeout: b.timeout}, opts, log)
	if err != nil {
		return err
	}
	defer downTestnet(ctx, dir, opts, log)
	defer t.Close()
	sc.UpSeconds = time.Since(upStart).Seconds()
	st, err := t.State()
	if err != nil {
		return err
	}
	sc.ReadySeconds = st.ReadySeconds
	first := st.Nodes[0].StartedAt
	var ss settleState
	nodes, _, err := waitFor(ctx, t, 250*time.Millisecond, b.timeout, settledCond(watch.Ready, &ss))
	if err != nil {
		return fmt.Errorf("convergence: %w", err)
	}
	if ss.leaderless {
		sc.Notes = append(sc.Notes, fmt.Sprintf("no node named a leader for %v while all were ready: this build runs no election, so only readiness is timed", noElectionAfter))
	} else {
		sc.ConvergeSeconds = seconds(ss.since.Sub(first))
		fmt.Fprintf(log, "meshbench mesh: %d nodes ready with one leader %.1fs after the first start\n", b.nodes, *sc.ConvergeSeconds)
	}

	window := b.rate
	if soak != nil {
		window = b.soak
	}
	before := readCounters(ctx, st)
	winStart := time.Now()
	if soak != nil {
		if err := b.watchSoak(ctx, t, nodes, ss.since, soak); err != nil {
			return err
		}
	} else if err := sleep(ctx, window); err != nil {
		return err
	}
	after := readCounters(ctx, st)
	sc.RateSeconds = time.Since(winStart).Seconds()
	sc.PerNode = rates(st, before, after, sc.RateSeconds)
	return nil
}

// watchSoak polls every node for the soak's duration and records each
// status and leader change.
func (b *meshBench) watchSoak(ctx context.Context, t *testnet.Testnet, start []testnet.NodeStatus, from time.Time, soak *results.Soak) error {
	tr := watch.NewTracker(start)
	end := time.Now().Add(b.soak)
	soakStart := time.Now()
	for time.Now().Before(end) {
		if err := sleep(ctx, b.poll); err != nil {
			return err
		}
		nodes, err := t.Observe(ctx, testnet.Scrape{})
		if err != nil {
			return err
		}
		soak.Polls++
		for _, c := range tr.Observe(time.Now(), nodes) {
			tc := results.Transition{AtSeconds: c.At.Sub(soakStart).Seconds(), Node: c.Node, Kind: c.Kind, From: c.From, To: c.To, Message: c.Message}
			soak.Transitions = append(soak.Transitions, tc)
			if c.Kind == "status" {
				soak.StatusChanges++
			} else {
				soak.LeaderChanges++
			}
		}
	}
	soak.Unreachable = tr.Unreachable
	soak.DurationSeconds = time.Since(soakStart).Seconds()
	soak.Notes = append(soak.Notes, fmt.Sprintf("counted from convergence, %.1fs after the first node started", from.Sub(start[0].StartedAt).Seconds()))
	return nil
}
