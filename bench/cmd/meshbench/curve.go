package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/procfs"
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
	mode    string
}

// runCurve is section 7, one point of the scale curve (issues 11 and 25):
// the scale scenario starts N netns nodes and times ready and one leader;
// a settling pause after that (60 s by default: the mesh at rest, not its
// start-up), every node's health-message intake on every meshhealth topic,
// CPU and RSS are read over a window, and its peers and election term at
// its end; with -hold the scenario's false-alarm watch follows; then the
// testnet goes and N bare hosts with the node's connection watermarks and
// its measured degree are measured over the same window.
//
// The bare hosts run after the nodes, not beside them as in section 4: at
// 100 nodes the two meshes together would starve each other, and the
// point here is one mesh's cost at N.
func runCurve(ctx context.Context, args []string, log io.Writer) error {
	b := curveBench{}
	fs := newFlags("scale", log)
	b.register(fs)
	fs.IntVar(&b.nodes, "n", 10, "nodes (and bare hosts)")
	fs.DurationVar(&b.settle, "settle", 60*time.Second, "wait after convergence before the window, so it measures the mesh at rest")
	fs.DurationVar(&b.window, "d", 60*time.Second, "steady-state window")
	fs.DurationVar(&b.hold, "hold", 0, "after the window, the scale scenario's false-alarm hold for this long (0: none)")
	fs.StringVar(&b.bareBin, "bare-bin", "bin/bench-barehost", "the bare libp2p host")
	fs.BoolVar(&b.noBare, "no-bare", false, "skip the bare hosts")
	fs.StringVar(&b.mode, "mode", string(testnet.ModeNetns), "testnet mode: netns (the curve: mDNS as on a LAN) or local (loopback, bootstrapped; to try the harness)")
	fs.DurationVar(&b.timeout, "timeout", 0, "replaces the scale scenario's wait timeouts for ready and one leader (0: its own, 5m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mode, err := testnet.ParseMode(b.mode)
	if err != nil {
		return err
	}
	res := results.Curve{Header: b.header("curve"), Nodes: b.nodes, Mode: string(mode)}
	if low, high, werr := nodeWatermarks(ctx, b.nodeBin); werr != nil {
		res.Notes = append(res.Notes, "the bare hosts ran with barehost's default watermarks: "+werr.Error())
	} else {
		res.ConnLow, res.ConnHigh = low, high
	}
	err = b.run(ctx, &res, log)
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
		Up:     testnet.UpOptions{N: b.nodes, Mode: testnet.Mode(res.Mode), NodeBin: b.nodeBin, ReadyTimeout: time.Millisecond},
	}
	res.Scenario = so.Report
	// The scenario writes its report there before any results file does.
	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return err
	}
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
	samples, err := sampleProcs(ctx, procs, b.window, time.Second)
	after := readIntake(ctx, st)
	res.WindowSeconds = b.window.Seconds()
	res.NodeLoad[1] = results.LoadAvg1()
	res.Procs = samples
	res.Intake = intakeRates(st, before, after)
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
	bare, stopBare, err := startBareMesh(b.bareBin, b.nodes, bareOptions{
		all: true, dial: bareDial(res), connLow: res.ConnLow, connHigh: res.ConnHigh,
	})
	defer stopBare()
	if err != nil {
		return fmt.Errorf("bare hosts: %w", err)
	}
	// Bare hosts have no readiness to wait for; they get the nodes'
	// settling pause, which also outlasts their connection manager's 10 s
	// grace, so a host above conn_high has been trimmed before the window.
	if err := sleep(ctx, b.settle); err != nil {
		return err
	}
	var procs []measured
	for i, h := range bare {
		procs = append(procs, measured{results.KindBare, fmt.Sprintf("bare%d", i), h.cmd.Process.Pid})
	}
	res.BareLoad[0] = results.LoadAvg1()
	start := time.Now()
	samples, err := sampleProcs(ctx, procs, b.window, time.Second)
	res.BareWindowSeconds = time.Since(start).Seconds()
	res.BareLoad[1] = results.LoadAvg1()
	res.Procs = append(res.Procs, samples...)
	for _, h := range bare {
		res.BarePeers = append(res.BarePeers, h.peers())
	}
	if err != nil {
		return fmt.Errorf("bare window: %w", err)
	}
	return nil
}

// bareDial is how many earlier hosts each bare host dials so that the bare
// mesh's degree is the node mesh's: half the nodes' median peer count (a
// host also takes the dials of hosts started after it), so the mean degree
// comes out near that median; with no peer count read, conn_high, as mDNS
// offers a node every other and its connection manager trims above that.
// The hosts run with the node's watermarks either way; 0 dials every one.
func bareDial(res *results.Curve) int {
	var peers []float64
	for _, n := range res.Intake {
		if n.Peers != nil {
			peers = append(peers, *n.Peers)
		}
	}
	if len(peers) == 0 {
		return res.ConnHigh
	}
	slices.Sort(peers)
	return max(1, int(math.Round(peers[len(peers)/2]/2)))
}

// Counters read at both ends of the window besides the intake.
const (
	peersMetric = "meshhealth_connected_peers"
	termMetric  = "meshhealth_election_term"
)

// intakeMetrics are the per-topic received-message counters a node may
// export, the first found on a node counting: the tracer's (first
// receipts, every meshhealth topic it joined) and, should the wire layer
// count its own, that one. Whatever topics they name are all summed, so a
// new topic is counted without a change here.
var intakeMetrics = []string{receivedMetric, "meshhealth_wire_messages_received_total"}

// intakeReading is one node's received counters by topic and its state;
// ok is false when the node did not answer or exported no such counter.
type intakeReading struct {
	ok          bool
	at          time.Time
	byTopic     map[string]float64
	peers, term *float64
	net         *procfs.NetCounters
}

// readIntake reads every node's /metrics, a few at a time so that the
// readings at each end of the window are close together in time, over the
// bridge (no node is partitioned here); and its namespace's receive
// counters.
func readIntake(ctx context.Context, st *testnet.State) []intakeReading {
	out := make([]intakeReading, len(st.Nodes))
	c := &http.Client{Timeout: 3 * time.Second}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, n := range st.Nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := &out[i]
			if n.Namespace != "" {
				if nc, err := procfs.NetDev(n.PID); err == nil {
					r.net = &nc
				}
			}
			text, err := getText(ctx, c, "http://"+n.HTTP+"/metrics")
			r.at = time.Now()
			if err != nil {
				return
			}
			for _, m := range intakeMetrics {
				if r.byTopic = byLabel(text, m, "topic"); len(r.byTopic) > 0 {
					break
				}
			}
			r.ok = len(r.byTopic) > 0
			if v, ok := testnet.MetricSum(text, peersMetric); ok {
				r.peers = &v
			}
			if v, ok := testnet.MetricSum(text, termMetric); ok {
				r.term = &v
			}
		}()
	}
	wg.Wait()
	return out
}

// intakeRates divides each node's counters by the time between its own
// two readings, not the window's: at 100 nodes the readings of one end
// spread over seconds.
func intakeRates(st *testnet.State, before, after []intakeReading) []results.NodeIntake {
	out := make([]results.NodeIntake, len(st.Nodes))
	for i, n := range st.Nodes {
		out[i] = results.NodeIntake{Node: n.Name, Peers: after[i].peers, Term: after[i].term}
		secs := after[i].at.Sub(before[i].at).Seconds()
		if before[i].net != nil && after[i].net != nil && secs > 0 {
			v := float64(after[i].net.RxPackets-before[i].net.RxPackets) / secs
			out[i].RxPackets = &v
		}
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

// watermarkRe finds conn_low and conn_high in --print-config's YAML.
var watermarkRe = regexp.MustCompile(`(?m)^\s*(conn_low|conn_high):\s*(\d+)\s*$`)

// nodeWatermarks are the node's connection-manager watermarks, from its own
// --print-config, so the bare hosts follow whatever the node's defaults are.
func nodeWatermarks(ctx context.Context, bin string) (low, high int, err error) {
	out, err := exec.CommandContext(ctx, bin, "--print-config").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%s --print-config: %w", bin, err)
	}
	for _, m := range watermarkRe.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.Atoi(m[2])
		if m[1] == "conn_low" {
			low = v
		} else {
			high = v
		}
	}
	if low <= 0 || high <= 0 {
		return 0, 0, fmt.Errorf("%s --print-config: no conn_low and conn_high", bin)
	}
	return low, high, nil
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
