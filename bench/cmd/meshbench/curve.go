package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/testnet"
)

// scaleScenario is the testnet's built-in the curve's timings come from,
// so `bin/testnet scenario scale -n N` reproduces them outside the bench.
const scaleScenario = "scale"

type curveBench struct {
	commonFlags
	nodes   int
	settle  time.Duration
	window  time.Duration
	hold    time.Duration
	bareBin string
	noBare  bool
	timeout time.Duration
}

// runCurve is section 7, one point of the scale curve (issue 11): the
// scale scenario starts N netns nodes and times ready and one leader; after
// a settling pause each node's health-message intake, CPU and RSS are read
// over a window; with -hold the scenario's false-alarm watch follows; then
// the testnet goes and N bare hosts are measured over the same window.
//
// The bare hosts run after the nodes, not beside them as in section 4: at
// 100 nodes the two meshes together would starve each other, and the
// point here is one mesh's cost at N.
func runCurve(ctx context.Context, args []string, log io.Writer) error {
	b := curveBench{}
	fs := newFlags("scale", log)
	b.register(fs)
	fs.IntVar(&b.nodes, "n", 10, "nodes (and bare hosts)")
	fs.DurationVar(&b.settle, "settle", 30*time.Second, "wait after convergence before the window (first DHT probes, mesh grafts)")
	fs.DurationVar(&b.window, "d", 60*time.Second, "steady-state window")
	fs.DurationVar(&b.hold, "hold", 0, "after the window, the scale scenario's false-alarm hold for this long (0: none)")
	fs.StringVar(&b.bareBin, "bare-bin", "bin/bench-barehost", "the bare libp2p host")
	fs.BoolVar(&b.noBare, "no-bare", false, "skip the bare hosts")
	fs.DurationVar(&b.timeout, "timeout", 0, "replaces the scale scenario's wait timeouts for ready and one leader (0: its own, 5m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res := results.Curve{Header: b.header("curve"), Nodes: b.nodes, Mode: string(testnet.ModeNetns)}
	err := b.run(ctx, &res, log)
	if err != nil {
		res.Notes = append(res.Notes, "incomplete: "+err.Error())
	}
	finish(&res.Header)
	if werr := results.Write(b.out, fmt.Sprintf("curve-%d.json", b.nodes), res); werr != nil {
		return werr
	}
	return err
}

func (b *curveBench) run(ctx context.Context, res *results.Curve, log io.Writer) error {
	sc, err := testnet.LoadScenario(scaleScenario)
	if err != nil {
		return err
	}
	if b.timeout > 0 {
		for i := range sc.Steps {
			if sc.Steps[i].Kind() == "wait" {
				sc.Steps[i].Timeout = testnet.Duration(b.timeout)
			}
		}
	}
	dir := filepath.Join(b.work, fmt.Sprintf("curve-%d", b.nodes))
	opts := b.testnetOpts(log)
	// A directory left by an interrupted earlier run would be reused as it is.
	_ = testnet.Down(ctx, dir, testnet.DownOptions{Grace: 5 * time.Second}, opts)
	up := true
	defer func() {
		if up {
			downTestnet(ctx, dir, opts, log)
		}
	}()
	so := testnet.ScenarioOptions{
		Dir: dir, Keep: true, Out: prefixed(log, "meshbench scale: "),
		Report: filepath.Join(b.out, fmt.Sprintf("curve-%d-scenario.json", b.nodes)),
		Up:     testnet.UpOptions{N: b.nodes, Mode: testnet.ModeNetns, NodeBin: b.nodeBin, ReadyTimeout: time.Millisecond},
	}
	res.Scenario = so.Report
	rep, err := testnet.RunScenario(ctx, sc, so, opts)
	if rep == nil {
		return err
	}
	if v, ok := rep.FromStart["ready"]; ok {
		res.ReadySeconds = &v
	}
	if v, ok := rep.FromStart["leader"]; ok {
		res.LeaderSeconds = &v
	}
	res.Converged = err == nil
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		// A mesh that did not converge is measured all the same: its cost
		// is what a reader of the curve needs to see.
		res.Notes = append(res.Notes, "measured without convergence: "+err.Error())
	}

	t, err := testnet.Open(dir, opts)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := sleep(ctx, b.settle); err != nil {
		return err
	}
	res.SettleSeconds = b.settle.Seconds()
	st, err := t.State()
	if err != nil {
		return err
	}
	var procs []measured
	for _, n := range st.Nodes {
		procs = append(procs, measured{results.KindNode, n.Name, n.PID})
	}
	res.NodeLoad[0] = results.LoadAvg1()
	before := readIntake(ctx, st)
	start := time.Now()
	samples, err := sampleProcs(ctx, procs, b.window, time.Second)
	after := readIntake(ctx, st)
	res.WindowSeconds = time.Since(start).Seconds()
	res.NodeLoad[1] = results.LoadAvg1()
	res.Procs = samples
	res.Intake = intakeRates(st, before, after, res.WindowSeconds)
	if err != nil {
		return fmt.Errorf("node window: %w", err)
	}

	if b.hold > 0 && res.Converged {
		res.Hold = b.runHold(ctx, sc, so, opts)
	} else if b.hold > 0 {
		res.Notes = append(res.Notes, "no hold: the mesh never converged, so every poll would count as a false alarm")
	}
	downTestnet(ctx, dir, opts, log)
	up = false

	if b.noBare {
		return nil
	}
	return b.measureBare(ctx, res)
}

// runHold runs the scale scenario again on the nodes already up: its waits
// pass at once and its optional hold runs for b.hold.
func (b *curveBench) runHold(ctx context.Context, sc *testnet.Scenario, so testnet.ScenarioOptions, opts testnet.Options) *results.CurveHold {
	so.Hold = b.hold
	so.Report = filepath.Join(b.out, fmt.Sprintf("curve-%d-hold.json", b.nodes))
	h := &results.CurveHold{}
	rep, err := testnet.RunScenario(ctx, sc, so, opts)
	var f *testnet.StepFailure
	if err != nil && !errors.As(err, &f) {
		h.Error = err.Error()
	}
	if rep == nil {
		return h
	}
	for _, s := range rep.Steps {
		if s.Hold == nil {
			continue
		}
		h.Seconds, h.Polls, h.FailedPolls = s.Seconds, s.Hold.Polls, s.Hold.FailedPolls
		h.StatusChanges, h.LeaderChanges, h.Exits = s.Hold.StatusChanges, s.Hold.LeaderChanges, s.Hold.Exits
		h.Changes, h.Violations = s.Hold.Changes, s.Hold.Violations
		return h
	}
	if f != nil {
		// It failed before the hold: the nodes no longer agreed.
		h.Error = f.Error()
	}
	return h
}

func (b *curveBench) measureBare(ctx context.Context, res *results.Curve) error {
	bare, stopBare, err := startBareMesh(b.bareBin, b.nodes, true)
	defer stopBare()
	if err != nil {
		return fmt.Errorf("bare hosts: %w", err)
	}
	// Bare hosts have no readiness to wait for; they get the nodes'
	// settling pause, as GossipSub and the DHT settle alike.
	if err := sleep(ctx, b.settle); err != nil {
		return err
	}
	var procs []measured
	for i, c := range bare {
		procs = append(procs, measured{results.KindBare, fmt.Sprintf("bare%d", i), c.Process.Pid})
	}
	res.BareLoad[0] = results.LoadAvg1()
	start := time.Now()
	samples, err := sampleProcs(ctx, procs, b.window, time.Second)
	res.BareWindowSeconds = time.Since(start).Seconds()
	res.BareLoad[1] = results.LoadAvg1()
	res.Procs = append(res.Procs, samples...)
	if err != nil {
		return fmt.Errorf("bare window: %w", err)
	}
	return nil
}

// intakeReading is one node's received counter by topic; ok is false when
// the node did not answer or exported no such counter.
type intakeReading struct {
	ok      bool
	byTopic map[string]float64
}

// readIntake reads every node's meshhealth_pubsub_messages_received_total
// by topic, over the bridge (no node is partitioned here).
func readIntake(ctx context.Context, st *testnet.State) []intakeReading {
	out := make([]intakeReading, len(st.Nodes))
	c := &http.Client{Timeout: 3 * time.Second}
	for i, n := range st.Nodes {
		text, err := getText(ctx, c, "http://"+n.HTTP+"/metrics")
		if err != nil {
			continue
		}
		out[i].byTopic = byLabel(text, receivedMetric, "topic")
		out[i].ok = len(out[i].byTopic) > 0
	}
	return out
}

func intakeRates(st *testnet.State, before, after []intakeReading, secs float64) []results.NodeIntake {
	out := make([]results.NodeIntake, len(st.Nodes))
	for i, n := range st.Nodes {
		out[i] = results.NodeIntake{Node: n.Name}
		if !before[i].ok || !after[i].ok || secs <= 0 {
			out[i].Missing = true
			continue
		}
		out[i].ByTopic = map[string]float64{}
		for topic, v := range after[i].byTopic {
			r := (v - before[i].byTopic[topic]) / secs
			out[i].ByTopic[topic] = r
			out[i].PerSecond += r
		}
	}
	return out
}

// byLabel sums the samples of metric by the value of one label, in a
// Prometheus text exposition.
func byLabel(exposition, metric, label string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range strings.Split(exposition, "\n") {
		rest, ok := strings.CutPrefix(l, metric+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(labels, ",") {
			k, val, _ := strings.Cut(kv, "=")
			if k == label {
				out[strings.Trim(val, `"`)] += v
			}
		}
	}
	return out
}

// prefixed writes each line of the scenario's progress with a prefix, so
// it reads as the harness's in make bench's output.
func prefixed(w io.Writer, prefix string) io.Writer {
	return &prefixWriter{w: w, prefix: prefix, bol: true}
}

type prefixWriter struct {
	w      io.Writer
	prefix string
	bol    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, c := range b {
		if p.bol {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		if _, err := p.w.Write([]byte{c}); err != nil {
			return 0, err
		}
		p.bol = c == '\n'
	}
	return len(b), nil
}
