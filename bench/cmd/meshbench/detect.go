package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/watch"
	"github.com/meshhealth/meshhealth/testnet"
)

type detectBench struct {
	commonFlags
	config   string
	nodes    int
	reps     int
	faults   string
	mode     string
	poll     time.Duration
	deadline time.Duration
	linger   time.Duration
	settle   time.Duration
	turn     int // rotates the follower a fault targets
}

// runDetect is section 2: each fault, rep after rep, on one testnet; the
// nodes are polled every -poll to timestamp what they say.
func runDetect(ctx context.Context, args []string, log io.Writer) error {
	b := detectBench{}
	fs := newFlags("detect", log)
	b.register(fs)
	fs.StringVar(&b.config, "config", "ours", "ours (the defaults) or reference (the reference's intervals through our flags)")
	fs.IntVar(&b.nodes, "n", 5, "nodes")
	fs.IntVar(&b.reps, "reps", 3, "repetitions of each fault")
	fs.StringVar(&b.faults, "faults", "all", "comma-separated faults: "+faultNames())
	fs.StringVar(&b.mode, "mode", "netns", "testnet mode (netns: a partition is a link taken down)")
	fs.DurationVar(&b.poll, "poll", 100*time.Millisecond, "how often every node's /health is read")
	fs.DurationVar(&b.deadline, "deadline", 60*time.Second, "how long to wait for a fault's events")
	fs.DurationVar(&b.linger, "linger", 3*time.Second, "how long to keep watching for optional events once the awaited ones are seen")
	fs.DurationVar(&b.settle, "settle", 180*time.Second, "how long to wait for every node to be healthy with one leader before a fault")
	if err := fs.Parse(args); err != nil {
		return err
	}
	defs, err := selectFaults(b.faults)
	if err != nil {
		return err
	}
	mode, err := testnet.ParseMode(b.mode)
	if err != nil {
		return err
	}
	nodeArgs := []string{"--shutdown-on-critical=false"}
	file := results.FileDetect
	switch b.config {
	case "ours":
	case "reference":
		nodeArgs = append(nodeArgs, referenceArgs...)
		file = results.FileDetectRef
	default:
		return fmt.Errorf("-config %q: want ours or reference", b.config)
	}
	nodeArgs = append(nodeArgs, fs.Args()...)
	res := results.Detect{
		Header: newHeader("detect"), Config: b.config, Nodes: b.nodes, Mode: string(mode),
		NodeArgs: nodeArgs, PollMs: int(b.poll / time.Millisecond),
	}
	err = b.run(ctx, mode, nodeArgs, defs, &res, log)
	if err != nil {
		res.Notes = append(res.Notes, "incomplete: "+err.Error())
	}
	finish(&res.Header)
	if werr := results.Write(b.out, file, res); werr != nil {
		return werr
	}
	return err
}

func (b *detectBench) run(ctx context.Context, mode testnet.Mode, nodeArgs []string, defs []faultDef, res *results.Detect, log io.Writer) error {
	dir := filepath.Join(b.work, "detect-"+b.config)
	opts := b.testnetOpts(log)
	t, err := upTestnet(ctx, testnet.UpOptions{
		Dir: dir, N: b.nodes, Mode: mode, NodeBin: b.nodeBin, ReadyTimeout: 180 * time.Second, NodeArgs: nodeArgs,
	}, opts, log)
	if err != nil {
		return err
	}
	defer downTestnet(ctx, dir, opts, log)
	defer t.Close()

	unwired := map[string]string{}
	// Rep after rep rather than fault after fault: a slow drift of the
	// machine's load then spreads over every fault alike.
	for rep := 1; rep <= b.reps; rep++ {
		for _, f := range defs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if why, ok := unwired[f.Name]; ok {
				res.Runs = append(res.Runs, results.FaultRun{Fault: f.Name, Rep: rep, Watched: f.Watch, Error: why})
				continue
			}
			run := b.one(ctx, t, f, rep, log)
			if strings.Contains(run.Error, "unknown fault") {
				unwired[f.Name] = run.Error
			}
			res.Runs = append(res.Runs, run)
			fmt.Fprintf(log, "meshbench detect: %s\n", describeRun(run))
		}
	}
	return nil
}

// one runs a fault once: wait for a healthy mesh, apply, watch, undo, wait
// for recovery.
func (b *detectBench) one(ctx context.Context, t *testnet.Testnet, f faultDef, rep int, log io.Writer) results.FaultRun {
	run := results.FaultRun{Fault: f.Name, Rep: rep, Role: f.Role, Watched: f.Watch, Deadline: b.deadline.Seconds()}
	// Every node ready with one leader, and the node to be faulted healthy
	// (so that leaving healthy is the fault's doing). A node faulted in an
	// earlier rep may still be degraded while failures age out of its score
	// window; the rotation then picks another follower.
	var ss settleState
	ready := settled(watch.Ready, &ss)
	target := -1
	nodes, _, err := waitFor(ctx, t, 250*time.Millisecond, b.settle, func(n []testnet.NodeStatus) bool {
		if !ready(n) {
			return false
		}
		leader, _ := watch.Converged(n, watch.Ready)
		target = b.pick(f, n, watch.IndexOf(n, leader))
		return target >= 0 || (ss.leaderless && f.Role == roleLeader)
	})
	if err != nil {
		run.Error = "mesh not ready with one leader and a healthy target before the fault: " + err.Error()
		return run
	}
	if ss.leaderless && f.Role == roleLeader {
		run.Error = "no node names a leader: this build runs no election"
		return run
	}
	leader, _ := watch.Converged(nodes, watch.Ready)
	var oldTerm uint64
	if li := watch.IndexOf(nodes, leader); li >= 0 {
		oldTerm = nodes[li].Term
	}
	if f.Role == roleFollower {
		b.turn = target + 1
	}
	run.Target = nodes[target].Name
	// Nodes not healthy at the start are left out of the collateral count.
	var ignore []int
	for i, s := range nodes {
		if s.Status != watch.StatusHealthy {
			ignore = append(ignore, i)
		}
	}
	spec := watch.Spec{
		Target: target, Watch: slices.Concat(f.Watch, f.Linger), Checks: f.Checks, ChecksAnywhere: f.ChecksAnywhere,
		OldLeader: leader, OldTerm: oldTerm, Ignore: ignore,
	}
	chaos := f.Apply
	chaos.Node = target
	start := time.Now()
	if err := t.Apply(ctx, chaos); err != nil {
		run.Error = err.Error()
		return run
	}
	det := watch.NewDetector(spec, start)
	awaitedSpec := spec
	awaitedSpec.Watch = f.Watch
	awaited := watch.NewDetector(awaitedSpec, start)
	deadline := start.Add(b.deadline)
	var lingerUntil time.Time
	for time.Now().Before(deadline) && ctx.Err() == nil {
		obs, err := t.Observe(ctx, testnet.Scrape{})
		if err != nil {
			run.Error = err.Error()
			break
		}
		at := time.Now()
		det.Observe(at, obs)
		awaited.Observe(at, obs)
		if det.Done() {
			break
		}
		if awaited.Done() {
			if lingerUntil.IsZero() {
				lingerUntil = at.Add(b.linger)
			} else if at.After(lingerUntil) {
				break
			}
		}
		_ = sleep(ctx, b.poll)
	}
	o := det.Outcome()
	run.NonHealthy, run.NonHealthyStatus = durPtr(o.NonHealthy), o.NonHealthyStatus
	run.Check, run.CheckName = durPtr(o.Check), o.CheckName
	run.Failover = durPtr(o.Failover)
	run.OthersNonHealthy = o.OthersNonHealthy

	undo := testnet.Chaos{Action: f.Undo, Node: target}
	undone := time.Now()
	if err := t.Apply(context.WithoutCancel(ctx), undo); err != nil {
		run.Error = joinErr(run.Error, "undo: "+err.Error())
		return run
	}
	if _, _, err := waitFor(ctx, t, 250*time.Millisecond, b.settle, settled(watch.Ready, &ss)); err == nil {
		run.Recovered = seconds(ss.since.Sub(undone))
	} else {
		run.Error = joinErr(run.Error, "no recovery: "+err.Error())
	}
	return run
}

// pick chooses the node a fault targets: the leader, or the next healthy
// follower after the last one faulted, so one node's recovery does not
// carry into the next rep. -1 when none qualifies yet.
func (b *detectBench) pick(f faultDef, nodes []testnet.NodeStatus, leader int) int {
	if f.Role == roleLeader {
		if leader >= 0 && (!slices.Contains(f.Watch, watch.EventNonHealthy) || nodes[leader].Status == watch.StatusHealthy) {
			return leader
		}
		return -1
	}
	for k := range nodes {
		i := (b.turn + k) % len(nodes)
		if i != leader && nodes[i].Status == watch.StatusHealthy {
			return i
		}
	}
	return -1
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func describeRun(r results.FaultRun) string {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.2fs", *p)
	}
	s := fmt.Sprintf("%s rep %d on %s (%s): non-healthy %s (%s), check %s (%s), failover %s, recovered %s",
		r.Fault, r.Rep, r.Target, r.Role, f(r.NonHealthy), r.NonHealthyStatus, f(r.Check), r.CheckName, f(r.Failover), f(r.Recovered))
	if len(r.OthersNonHealthy) > 0 {
		s += ", others non-healthy: " + strings.Join(r.OthersNonHealthy, ",")
	}
	if r.Error != "" {
		s += ", error: " + r.Error
	}
	return s
}
