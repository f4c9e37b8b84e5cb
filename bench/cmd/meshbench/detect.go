package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
	warmup   time.Duration
	overlap  bool
	waitLast bool
	file     string
	turn     int               // rotates the follower a fault targets
	pending  []pendingRecovery // faulted nodes not yet recovered
	runs     *[]results.FaultRun
	unwired  map[string]string
}

// pendingRecovery is a node whose fault was undone at since and that is not
// healthy again yet; its run's Recovered is filled in when it is ready and
// follows the leader, Healthy when it also says healthy.
type pendingRecovery struct {
	run   int
	node  int
	since time.Time
}

// runDetect is section 2: each fault, rep after rep, on one testnet; the
// nodes are polled every -poll to timestamp what they say.
func runDetect(ctx context.Context, args []string, log io.Writer) error {
	b := detectBench{unwired: map[string]string{}}
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
	fs.DurationVar(&b.settle, "settle", 180*time.Second, "how long to wait for the mesh to be ready before a fault, and for a node to recover")
	fs.DurationVar(&b.warmup, "warmup", 40*time.Second, "a follower is faulted only after running this long (its adaptive timeouts need 3 successes)")
	fs.BoolVar(&b.overlap, "overlap", false, "start the next fault while the last one's node still recovers (it is then neither targeted nor counted)")
	fs.BoolVar(&b.waitLast, "wait-last-recovery", true, "wait for the last faults' nodes to recover before stopping")
	fs.StringVar(&b.file, "file", "", "results file name (default: "+results.FileDetect+" at -n 5, "+fmt.Sprintf(results.FileDetectAtN, 50)+" at -n 50, ...)")
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
	nodeArgs := slices.Clone(detectArgs)
	file := results.FileDetect
	switch b.config {
	case "ours":
	case "reference":
		nodeArgs = append(nodeArgs, referenceArgs...)
		file = results.FileDetectRef
	default:
		return fmt.Errorf("-config %q: want ours or reference", b.config)
	}
	// The section's main table is the 5-node testnet; other sizes go
	// beside it, one file each, so a 50-node run does not replace it.
	if b.config == "ours" && b.nodes != 5 {
		file = fmt.Sprintf(results.FileDetectAtN, b.nodes)
	}
	if b.file != "" {
		file = b.file
	}
	nodeArgs = append(nodeArgs, fs.Args()...)
	res := results.Detect{
		Header: b.header("detect"), Config: b.config, Nodes: b.nodes, Mode: string(mode),
		NodeArgs: nodeArgs, PollMs: int(b.poll / time.Millisecond), WarmupSeconds: b.warmup.Seconds(), Overlap: b.overlap,
	}
	if !b.waitLast {
		res.Notes = append(res.Notes, "the recovery of the faults still recovering when the run ended was not awaited")
	}
	b.runs = &res.Runs
	err = b.run(ctx, mode, nodeArgs, defs, log)
	if err != nil {
		res.Notes = append(res.Notes, "incomplete: "+err.Error())
	}
	finish(&res.Header)
	if werr := results.Write(b.out, file, res); werr != nil {
		return werr
	}
	return err
}

func (b *detectBench) run(ctx context.Context, mode testnet.Mode, nodeArgs []string, defs []faultDef, log io.Writer) error {
	dir := filepath.Join(b.work, fmt.Sprintf("detect-%s-%d", b.config, b.nodes))
	opts := b.testnetOpts(log)
	t, err := upTestnet(ctx, testnet.UpOptions{
		Dir: dir, N: b.nodes, Mode: mode, NodeBin: b.nodeBin, ReadyTimeout: 180 * time.Second, NodeArgs: nodeArgs,
	}, opts, log)
	if err != nil {
		return err
	}
	defer downTestnet(ctx, dir, opts, log)
	defer t.Close()

	// Rep after rep rather than fault after fault: a slow drift of the
	// machine's load then spreads over every fault alike.
	for rep := 1; rep <= b.reps; rep++ {
		for _, f := range defs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if why, ok := b.unwired[f.Name]; ok {
				*b.runs = append(*b.runs, results.FaultRun{Fault: f.Name, Rep: rep, Watched: f.Watch, Error: why})
				continue
			}
			b.one(ctx, t, f, rep, log)
		}
	}
	if !b.waitLast {
		return nil // the report counts the recoveries it has
	}
	b.drain(ctx, t)
	for _, p := range b.pending {
		r := &(*b.runs)[p.run]
		what := "recovered"
		if r.Recovered != nil {
			what = "healthy again"
		}
		r.Error = joinErr(r.Error, fmt.Sprintf("no recovery: not %s within %v of the undo", what, b.settle))
	}
	return nil
}

// observe reads every node and credits the recoveries it shows.
func (b *detectBench) observe(ctx context.Context, t *testnet.Testnet) ([]testnet.NodeStatus, time.Time, error) {
	nodes, err := t.Observe(ctx, testnet.Scrape{})
	at := time.Now()
	if err == nil {
		b.credit(nodes, at)
	}
	return nodes, at, err
}

// credit fills in Recovered for each pending node that is ready again and
// follows the leader the others follow, and Healthy once it also says
// healthy: what an operator's load balancer waits for. A node stays
// pending, neither targeted nor counted, until it is healthy.
func (b *detectBench) credit(nodes []testnet.NodeStatus, at time.Time) {
	keep := b.pending[:0]
	for _, p := range b.pending {
		r := &(*b.runs)[p.run]
		if p.node < len(nodes) && recovered(nodes, p.node) {
			if r.Recovered == nil {
				r.Recovered = seconds(at.Sub(p.since))
			}
			if nodes[p.node].Status == watch.StatusHealthy {
				r.Healthy = seconds(at.Sub(p.since))
				continue
			}
		}
		keep = append(keep, p)
	}
	b.pending = keep
}

func recovered(nodes []testnet.NodeStatus, i int) bool {
	if !nodes[i].Ready() {
		return false
	}
	others := slices.Delete(slices.Clone(nodes), i, i+1)
	leader, ok := watch.Converged(others, watch.Ready)
	return !ok || nodes[i].Leader == leader
}

func (b *detectBench) pendingNodes() []int {
	var out []int
	for _, p := range b.pending {
		out = append(out, p.node)
	}
	return out
}

// drain waits, up to -settle, until every faulted node has recovered.
func (b *detectBench) drain(ctx context.Context, t *testnet.Testnet) {
	deadline := time.Now().Add(b.settle)
	for len(b.pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		if _, _, err := b.observe(ctx, t); err != nil {
			return
		}
		_ = sleep(ctx, 250*time.Millisecond)
	}
}

// one runs a fault once: wait for a ready mesh and a healthy target, apply,
// watch, undo; the target's recovery is credited when a later observation
// shows it.
func (b *detectBench) one(ctx context.Context, t *testnet.Testnet, f faultDef, rep int, log io.Writer) {
	idx := len(*b.runs)
	*b.runs = append(*b.runs, results.FaultRun{Fault: f.Name, Rep: rep, Role: f.Role, Watched: f.Watch, Deadline: b.deadline.Seconds()})
	run := &(*b.runs)[idx]
	defer func() {
		r := (*b.runs)[idx]
		if strings.Contains(r.Error, "unknown fault") {
			b.unwired[f.Name] = r.Error
		}
		fmt.Fprintf(log, "meshbench detect: %s\n", describeRun(r))
	}()
	if !b.overlap {
		b.drain(ctx, t)
	}

	// Every node but those still recovering ready with one leader, and the
	// node to be faulted healthy (so that leaving healthy is the fault's
	// doing) and, for a follower, past its warm-up.
	var ss settleState
	ready := settled(watch.Ready)
	target := -1
	var nodes []testnet.NodeStatus
	deadline := time.Now().Add(b.settle)
	for {
		obs, at, err := b.observe(ctx, t)
		if err != nil {
			run.Error = err.Error()
			return
		}
		except := b.pendingNodes()
		if s, ok := ready(obs, except); ok {
			ss = s
			leader, _ := watch.Converged(obs, watch.Ready, except...)
			target = b.pick(f, obs, watch.IndexOf(obs, leader), except, at)
			if target >= 0 || (ss.leaderless && f.Role == roleLeader) {
				nodes = obs
				break
			}
		}
		if at.After(deadline) {
			run.Error = "mesh not ready with one leader and a healthy target before the fault: " + testnet.Summarize(obs)
			return
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			run.Error = err.Error()
			return
		}
	}
	if ss.leaderless && f.Role == roleLeader {
		run.Error = "no node names a leader: this build runs no election"
		return
	}
	leader, _ := watch.Converged(nodes, watch.Ready, b.pendingNodes()...)
	var oldTerm uint64
	if li := watch.IndexOf(nodes, leader); li >= 0 {
		oldTerm = nodes[li].Term
	}
	if f.Role == roleFollower {
		b.turn = target + 1
	}
	run.Target = nodes[target].Name
	spec := watch.Spec{
		Target: target, Watch: slices.Concat(f.Watch, f.Linger), Checks: f.Checks, ChecksAnywhere: f.ChecksAnywhere,
		OldLeader: leader, OldTerm: oldTerm, Before: nodes,
	}
	run.ProbeTimeout = probeTimeout(ctx, "http://"+nodes[target].Address)
	chaos := f.Apply
	chaos.Node = target
	start := time.Now()
	if err := t.Apply(ctx, chaos); err != nil {
		run.Error = err.Error()
		return
	}
	det := watch.NewDetector(spec, start)
	awaitedSpec := spec
	awaitedSpec.Watch = f.Watch
	awaited := watch.NewDetector(awaitedSpec, start)
	end := start.Add(b.deadline)
	var lingerUntil time.Time
	for time.Now().Before(end) && ctx.Err() == nil {
		obs, at, err := b.observe(ctx, t)
		if err != nil {
			run.Error = err.Error()
			break
		}
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
	run.NonHealthy, run.NonHealthyStatus, run.NonHealthyMessage = durPtr(o.NonHealthy), o.NonHealthyStatus, o.NonHealthyMessage
	run.Check, run.CheckName, run.CheckMessage = durPtr(o.Check), o.CheckName, o.CheckMessage
	run.Failover = durPtr(o.Failover)
	run.OthersNonHealthy = o.OthersNonHealthy

	undone := time.Now()
	if err := t.Apply(context.WithoutCancel(ctx), testnet.Chaos{Action: f.Undo, Node: target}); err != nil {
		run.Error = joinErr(run.Error, "undo: "+err.Error())
		return
	}
	b.pending = append(b.pending, pendingRecovery{run: idx, node: target, since: undone})
}

// probeTimeoutMetric is the pubsub probe's current adaptive timeout.
const probeTimeoutMetric = "meshhealth_pubsub_probe_timeout_seconds"

// probeTimeout reads the node's adaptive pubsub timeout (0 if unreadable):
// the evidence for how long each failed attempt of the coming fault waits.
func probeTimeout(ctx context.Context, base string) float64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	text, err := getText(ctx, http.DefaultClient, base+"/metrics")
	if err != nil {
		return 0
	}
	v, _ := testnet.MetricSum(text, probeTimeoutMetric)
	return v
}

// pick chooses the node a fault targets: the leader, or the next healthy
// follower after the last one faulted (so one node's recovery does not
// carry into the next rep) that has run for the warm-up. -1 when none
// qualifies yet.
func (b *detectBench) pick(f faultDef, nodes []testnet.NodeStatus, leader int, except []int, now time.Time) int {
	if f.Role == roleLeader {
		if leader >= 0 && (!slices.Contains(f.Watch, watch.EventNonHealthy) || nodes[leader].Status == watch.StatusHealthy) {
			return leader
		}
		return -1
	}
	for k := range nodes {
		i := (b.turn + k) % len(nodes)
		if i == leader || slices.Contains(except, i) || nodes[i].Status != watch.StatusHealthy {
			continue
		}
		if !nodes[i].StartedAt.IsZero() && now.Sub(nodes[i].StartedAt) < b.warmup {
			continue
		}
		return i
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
	s := fmt.Sprintf("%s rep %d on %s (%s): non-healthy %s (%s), check %s (%s), failover %s",
		r.Fault, r.Rep, r.Target, r.Role, f(r.NonHealthy), r.NonHealthyStatus, f(r.Check), r.CheckName, f(r.Failover))
	if len(r.OthersNonHealthy) > 0 {
		s += ", others non-healthy: " + strings.Join(r.OthersNonHealthy, ",")
	}
	if r.Error != "" {
		s += ", error: " + r.Error
	}
	return s
}
