package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/results"
)

func f(v float64) *float64 { return &v }

func baseRun() results.Run {
	return results.Run{
		Mode: "quick", Command: "BENCH_MODE=quick make bench", Commit: "0123456789abcdef0123", Dirty: true,
		Started: time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 24, 21, 9, 30, 0, time.UTC),
		Machine: results.Machine{CPUs: 2, Model: "Test CPU", MemTotal: 8 << 30, Kernel: "6.1", GoVersion: "go1.26", LoadAvg1: 3.5},
		Note:    "shared machine",
	}
}

func render(t *testing.T, in *Input) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, in); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// summaryRow finds the summary line of a target.
func summaryRow(t *testing.T, doc, target string) string {
	t.Helper()
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(l, "| ") && strings.Contains(l, target) {
			return l
		}
	}
	t.Fatalf("no summary row for %q in:\n%s", target, doc)
	return ""
}

func TestEmptyRunSaysEveryTargetIsNotMeasured(t *testing.T) {
	doc := render(t, &Input{Dir: "out", Run: baseRun()})
	for _, want := range []string{
		"commit | 0123456789ab (with uncommitted changes",
		"note | shared machine",
		"caution | the machine was busy",
		"the run took 9m30s",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("missing %q", want)
		}
	}
	if got := strings.Count(doc, "| not measured | not measured |"); got < 8 {
		t.Errorf("%d targets say not measured, want every one:\n%s", got, doc)
	}
}

func httpRuns(nodeRPS, staticRPS, p99 float64) []results.HTTPRun {
	var rs []results.HTTPRun
	for rep := 1; rep <= 3; rep++ {
		rs = append(rs,
			results.HTTPRun{Phase: results.PhaseNormal, Target: results.TargetNode, Path: "/health", Rep: rep, RPS: nodeRPS, P99ms: p99, Status: 200, Bytes: 2600},
			results.HTTPRun{Phase: results.PhaseNormal, Target: results.TargetStatic, Path: "/health", Rep: rep, RPS: staticRPS, P99ms: 1, Status: 200, Bytes: 2600},
			results.HTTPRun{Phase: results.PhaseHang, Target: results.TargetNode, Path: "/health", Rep: rep, RPS: nodeRPS * 0.95, P99ms: p99, Status: 503, Bytes: 2700},
			results.HTTPRun{Phase: results.PhaseHang, Target: results.TargetStatic, Path: "/health", Rep: rep, RPS: staticRPS, P99ms: 1, Status: 503, Bytes: 2700},
		)
	}
	return rs
}

func TestHTTPVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name               string
		node, static, p99  float64
		ratioOK, latencyOK bool
	}{
		{"fast node", 9000, 10000, 2, true, true},
		{"slow node", 7000, 10000, 2, false, true},
		{"slow tail", 9000, 10000, 7, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &Input{Run: baseRun(), HTTP: &results.HTTP{Header: results.Header{Command: "meshbench http"}, Tool: "wrk 4.1.0", Threads: 1,
				Connections: 8, Duration: 10, HangFault: "scheduler/stall", HangStatus: "unhealthy", Runs: httpRuns(tc.node, tc.static, tc.p99)}}
			doc := render(t, in)
			ratio := summaryRow(t, doc, "throughput ≥ 0.8×")
			if strings.Contains(ratio, met) != tc.ratioOK {
				t.Errorf("ratio row %q, want met=%v", ratio, tc.ratioOK)
			}
			lat := summaryRow(t, doc, "p99 ≤ 5 ms under load")
			if strings.Contains(lat, met) != tc.latencyOK {
				t.Errorf("latency row %q, want met=%v", lat, tc.latencyOK)
			}
			if !tc.ratioOK && !strings.Contains(doc, "**Throughput target missed** (node ÷ static 0.700×") {
				t.Error("a missed throughput target is not explained")
			}
			if !strings.Contains(doc, "meshbench http") {
				t.Error("the command is not shown")
			}
		})
	}
}

func detectRuns(fault string, watched string, times ...*float64) []results.FaultRun {
	var rs []results.FaultRun
	for i, v := range times {
		r := results.FaultRun{Fault: fault, Rep: i + 1, Target: "node2", Role: "follower", Watched: []string{watched}, Deadline: 60}
		switch watched {
		case results.EventNonHealthy:
			r.NonHealthy, r.NonHealthyStatus = v, "unhealthy"
		case results.EventFailover:
			r.Failover = v
		}
		rs = append(rs, r)
	}
	return rs
}

func TestDetectionRuleIsMedianAndMax(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []*float64
		met   bool
	}{
		{"all fast", []*float64{f(3), f(4), f(4.5)}, true},
		{"median over 5 s", []*float64{f(5.5), f(6), f(4)}, false},
		{"one over 8 s", []*float64{f(3), f(3), f(9)}, false},
		{"one never seen", []*float64{f(3), f(3), nil}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &Input{Run: baseRun(), Detect: &results.Detect{Header: results.Header{Command: "meshbench detect"}, Config: "ours", Nodes: 5, Mode: "netns", PollMs: 100,
				Runs: detectRuns("partition", results.EventNonHealthy, tc.times...)}}
			doc := render(t, in)
			row := summaryRow(t, doc, "the partitioned node non-healthy")
			if strings.Contains(row, met) != tc.met {
				t.Fatalf("row %q, want met=%v", row, tc.met)
			}
			if !tc.met && !strings.Contains(doc, "**Partition target missed**") {
				t.Error("a missed partition target is not explained")
			}
		})
	}
}

func TestReferenceRatioAndUnwiredFaults(t *testing.T) {
	ours := detectRuns("partition", results.EventNonHealthy, f(4), f(4), f(4))
	ours = append(ours, results.FaultRun{Fault: "dht-fail-put", Rep: 1, Watched: []string{results.EventNonHealthy},
		Error: `chaos fault dht/fail-put on node2: POST ...: 400 Bad Request: {"error":"unknown fault \"dht/fail-put\""}`})
	ref := detectRuns("partition", results.EventNonHealthy, f(60))
	in := &Input{Run: baseRun(),
		Detect:    &results.Detect{Config: "ours", Nodes: 5, Mode: "netns", Runs: ours},
		DetectRef: &results.Detect{Config: "reference", Nodes: 5, Mode: "netns", Runs: ref}}
	doc := render(t, in)
	row := summaryRow(t, doc, "| `partition` | target non-healthy |")
	if !strings.Contains(row, "| 15.0×") && !strings.Contains(row, "| 15×") {
		t.Errorf("partition row %q lacks the 15× reference ratio", row)
	}
	dht := summaryRow(t, doc, "| `dht-fail-put` |")
	if !strings.Contains(dht, "fault not supported by this node") {
		t.Errorf("unwired fault row %q does not say so", dht)
	}
}

// healed sets each run's time from the undo to healthy again.
func healed(rs []results.FaultRun, secs ...float64) []results.FaultRun {
	for i := range rs {
		rs[i].Healthy = f(secs[i%len(secs)])
	}
	return rs
}

func TestDetectionAtEachSizeJudgesMedianAndReturnToHealthy(t *testing.T) {
	refused := results.FaultRun{Fault: "pubsub-outbound-only", Rep: 1, Watched: []string{results.EventNonHealthy},
		Error: `chaos fault pubsub/outbound-only on node2: POST ...: 400 Bad Request: {"error":"unknown fault \"pubsub/outbound-only\""}`}
	five := healed(detectRuns("partition", results.EventNonHealthy, f(4), f(4.2), f(9)), 9, 11, 10)
	five = append(five, refused)
	fifty := healed(detectRuns("partition", results.EventNonHealthy, f(5.03), f(5.27), f(9.15)), 47, 49, 51)
	fifty = append(fifty, healed(detectRuns("pubsub-inbound-only", results.EventNonHealthy, f(6), f(7), f(8)), 12)...)
	in := &Input{Run: baseRun(),
		Detect:   &results.Detect{Config: "ours", Nodes: 5, Mode: "netns", Runs: five},
		DetectAt: []results.Detect{{Config: "ours", Nodes: 50, Mode: "netns", Runs: fifty}}}
	doc := render(t, in)
	for target, want := range map[string]string{
		"N = 5: `partition`":              met,
		"N = 50: `partition`":             missed, // median 5.27 s, and 49 s to healthy
		"N = 50: `pubsub-inbound-only`":   met,
		"N = 5: `pubsub-outbound-only`":   notMeas,
		"N = 50: `pubsub-outbound-only`":  notMeas,
		"N = 50: `kill-leader` detected,": notMeas,
	} {
		row := summaryRow(t, doc, target)
		if !strings.HasSuffix(row, "| "+want+" |") {
			t.Errorf("%s: row %q, want %s", target, row, want)
		}
	}
	if row := summaryRow(t, doc, "N = 5: `pubsub-outbound-only`"); !strings.Contains(row, "fault not supported by this node") {
		t.Errorf("refused fault row %q does not say the node refused it", row)
	}
	if row := summaryRow(t, doc, "N = 50: `partition`"); !strings.Contains(row, "healthy again 49.0 s / 51.0 s (3)") {
		t.Errorf("partition row %q lacks the time back to healthy", row)
	}
	if !strings.Contains(doc, "| fault | judged on | N = 5 | N = 50 | goal |") {
		t.Errorf("no table of the sizes side by side:\n%s", doc)
	}
}

func TestSoakSmallerThanTheTargetIsOnlyPartlyMeasured(t *testing.T) {
	in := &Input{Run: baseRun(), Soak: &results.Soak{Nodes: 10, DurationSeconds: 120, PollMs: 1000, Polls: 120, Mode: "netns"}}
	row := summaryRow(t, render(t, in), "zero false alarms")
	if !strings.Contains(row, partial) {
		t.Fatalf("row %q, want %q", row, partial)
	}
	in.Soak = &results.Soak{Nodes: 20, DurationSeconds: 600, StatusChanges: 1,
		Transitions: []results.Transition{{AtSeconds: 42, Node: "node3", Kind: "status", From: "healthy", To: "degraded", Message: "score 0.94"}}}
	doc := render(t, in)
	if row := summaryRow(t, doc, "zero false alarms"); !strings.Contains(row, missed) {
		t.Fatalf("row %q, want missed", row)
	}
	if !strings.Contains(doc, "| 42.0 s | node3 | status | healthy → degraded | score 0.94 |") {
		t.Error("the false alarm is not listed")
	}
}

func TestIdleAndScaleVerdicts(t *testing.T) {
	in := &Input{Run: baseRun(),
		Idle: &results.Idle{DurationSeconds: 60, Procs: []results.ProcSample{
			{Kind: results.KindNode, Name: "node0", CPUShare: 0.01, RSSMaxB: 40 << 20, RSSMeanB: 39 << 20},
			{Kind: results.KindNode, Name: "node1", CPUShare: 0.03, RSSMaxB: 41 << 20, RSSMeanB: 40 << 20},
			{Kind: results.KindBare, Name: "bare0", CPUShare: 0.002, RSSMaxB: 25 << 20, RSSMeanB: 25 << 20},
		}},
		Scale: []results.Scale{
			{Nodes: 10, ConvergeSeconds: f(8), RateSeconds: 60, PerNode: []results.NodeRates{{Node: "node0", ProbeTopicIn: 100}}},
			{Nodes: 50, ConvergeSeconds: f(45), RateSeconds: 60, PerNode: []results.NodeRates{{Node: "node0", ProbeTopicIn: 480}}},
		},
	}
	superlinear := *in
	superlinear.Scale = []results.Scale{in.Scale[0], in.Scale[1]}
	superlinear.Scale[1].PerNode = []results.NodeRates{{Node: "node0", ProbeTopicIn: 700}}
	if row := summaryRow(t, render(t, &superlinear), "grows at most linearly"); !strings.Contains(row, missed) {
		t.Errorf("×7 for ×5.44 the peers passed: %q", row)
	}
	doc := render(t, in)
	if row := summaryRow(t, doc, "≤ 2 % of a core"); !strings.Contains(row, missed) {
		t.Errorf("cpu row %q: the busiest node is over 2 %%", row)
	}
	if row := summaryRow(t, doc, "≤ 60 MB RSS"); !strings.Contains(row, met) {
		t.Errorf("rss row %q", row)
	}
	if row := summaryRow(t, doc, "all ready with one leader within 30 s"); !strings.Contains(row, missed) || !strings.Contains(row, "45.0 s") {
		t.Errorf("convergence row %q", row)
	}
	if row := summaryRow(t, doc, "grows at most linearly"); !strings.Contains(row, met) || !strings.Contains(row, "×4.80") || !strings.Contains(row, "×5.44") {
		t.Errorf("growth row %q", row)
	}
}
