package report

import (
	"fmt"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// The HTTP targets.
const (
	minRatio = 0.8
	maxP99ms = 5.0
	// "Unchanged while a probe hangs": the node's throughput relative to
	// the static server keeps at least hangTolerance of its healthy value,
	// and its p99 grows by at most hangTailTolerance.
	hangTolerance     = 0.9
	hangTailTolerance = 1.25
)

type httpCell struct {
	rps, p50, p99 stats.Summary
	status, bytes int
	non2xx        int64
	errors        int64
}

func httpCellOf(h *results.HTTP, phase, target, path string) httpCell {
	var rps, p50, p99 []float64
	var c httpCell
	for _, r := range h.Runs {
		if r.Phase != phase || r.Target != target || r.Path != path {
			continue
		}
		rps, p50, p99 = append(rps, r.RPS), append(p50, r.P50ms), append(p99, r.P99ms)
		c.status, c.bytes = r.Status, r.Bytes
		c.non2xx += r.Non2xx
		c.errors += r.Errors
	}
	c.rps, c.p50, c.p99 = stats.Summarize(rps), stats.Summarize(p50), stats.Summarize(p99)
	return c
}

// pairedRatios are node/static per repetition: each pair ran back to back.
func pairedRatios(h *results.HTTP, phase, path string) stats.Summary {
	node := map[int]float64{}
	static := map[int]float64{}
	for _, r := range h.Runs {
		if r.Phase != phase || r.Path != path {
			continue
		}
		if r.Target == results.TargetNode {
			node[r.Rep] = r.RPS
		} else {
			static[r.Rep] = r.RPS
		}
	}
	var rs []float64
	for rep, n := range node {
		if s, ok := static[rep]; ok && s > 0 {
			rs = append(rs, n/s)
		}
	}
	return stats.Summarize(rs)
}

func httpSection(in *Input) section {
	h := in.HTTP
	const title = "1. `/health` under load"
	if h == nil {
		return section{
			targets: []targetRow{{"1", "`/health` throughput ≥ 0.8× a static handler, p99 ≤ 5 ms, unchanged while a probe hangs", notMeas, notMeas}},
			render:  func(d *doc) { notRun(d, title, "meshbench http") },
		}
	}
	normal := httpCellOf(h, results.PhaseNormal, results.TargetNode, "/health")
	ratio := pairedRatios(h, results.PhaseNormal, "/health")
	hang := httpCellOf(h, results.PhaseHang, results.TargetNode, "/health")
	hangRatio := pairedRatios(h, results.PhaseHang, "/health")

	var targets []targetRow
	if ratio.N > 0 {
		targets = append(targets,
			targetRow{"1", "`/health` throughput ≥ 0.8× a static net/http handler serving the same bytes",
				fmt.Sprintf("%s× (%s vs %s req/s, median of %d)", num(ratio.Median), num(normal.rps.Median),
					num(httpCellOf(h, results.PhaseNormal, results.TargetStatic, "/health").rps.Median), ratio.N),
				yesNo(ratio.Median >= minRatio)},
			targetRow{"1", "`/health` p99 ≤ 5 ms under load",
				fmt.Sprintf("%s ms (median of the runs' p99; worst run %s ms)", num(normal.p99.Median), num(normal.p99.Max)),
				yesNo(normal.p99.Median <= maxP99ms)})
	} else {
		targets = append(targets, targetRow{"1", "`/health` throughput ≥ 0.8× static, p99 ≤ 5 ms", notMeas, notMeas})
	}
	// "Unchanged" is judged against the healthy runs of the same
	// invocation, relative to the static server measured alongside, so a
	// drift of the machine's load between the phases does not count.
	hangOK := false
	if hang.rps.N > 0 && ratio.N > 0 && hangRatio.N > 0 && normal.p99.N > 0 {
		rel := hangRatio.Median / ratio.Median
		tail := hang.p99.Median / normal.p99.Median
		hangOK = rel >= hangTolerance && tail <= hangTailTolerance
		targets = append(targets, targetRow{"1", "`/health` unchanged while a probe hangs (node ÷ static at least 0.9× the healthy one's, p99 at most 1.25× the healthy p99)",
			fmt.Sprintf("node ÷ static %s× vs %s× healthy (%s× of it), p99 %s ms vs %s ms; fault %s, node %s",
				num(hangRatio.Median), num(ratio.Median), num(rel), num(hang.p99.Median), num(normal.p99.Median), h.HangFault, h.HangStatus),
			yesNo(hangOK)})
	} else {
		targets = append(targets, targetRow{"1", "`/health` unchanged while a probe hangs", notMeas, notMeas})
	}

	render := func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("A 2-node local testnet gives node0 a real peer and real probes. %s loads node0 with %d connections",
			toolText(h), h.Connections)
		d.line("for %.0f s per run, then a static net/http server (`bench/cmd/static`) that answers the very bytes,", h.Duration)
		d.line("status and headers node0 gave a moment before, back to back, alternating which goes first; both")
		d.line("share the machine with the load generator. Ratio = node ÷ static per pair of runs. Latencies are")
		d.line("the load generator's (closed loop: each connection waits for its answer). %s.", loadNote(h.Header))
		d.line("")
		d.command(h.Command)
		var rows [][]string
		for _, path := range []string{"/health", "/health/ready"} {
			n := httpCellOf(h, results.PhaseNormal, results.TargetNode, path)
			s := httpCellOf(h, results.PhaseNormal, results.TargetStatic, path)
			if n.rps.N == 0 {
				continue
			}
			r := pairedRatios(h, results.PhaseNormal, path)
			rows = append(rows, []string{"`" + path + "`", fmt.Sprintf("%d, %d B", n.status, n.bytes),
				medRange(n.rps, ""), medRange(s.rps, ""), medRange(r, "×"),
				fmt.Sprintf("%s / %s", num(n.p50.Median), num(n.p99.Median)), fmt.Sprintf("%s / %s", num(s.p50.Median), num(s.p99.Median)),
				fmt.Sprintf("%d", n.rps.N), fmt.Sprintf("%d / %d", n.non2xx, n.errors)})
		}
		d.line("Healthy node (req/s: median (min–max) over the repetitions; latency: medians of each run's p50 / p99):")
		d.line("")
		d.table([]string{"path", "answer", "node req/s", "static req/s", "node ÷ static", "node p50 / p99 ms", "static p50 / p99 ms", "reps", "node non-2xx / errors"}, rows)

		if hang.rps.N > 0 {
			s := httpCellOf(h, results.PhaseHang, results.TargetStatic, "/health")
			d.line("While a check hangs: the `%s` fault was injected into node0 (with `scheduler/stall` its check", h.HangFault)
			d.line("scheduler blocks, so no check finishes and every result goes stale: the worst a hung probe can")
			d.line("do) and the runs started once node0 reported `%s`; the static server then answered node0's", h.HangStatus)
			d.line("new %d body.", hang.status)
			d.line("")
			d.table([]string{"path", "answer", "node req/s", "static req/s", "node ÷ static", "node p50 / p99 ms", "vs the healthy node", "reps"},
				[][]string{{"`/health`", fmt.Sprintf("%d, %d B", hang.status, hang.bytes), medRange(hang.rps, ""), medRange(s.rps, ""),
					medRange(hangRatio, "×"), fmt.Sprintf("%s / %s", num(hang.p50.Median), num(hang.p99.Median)),
					fmt.Sprintf("%s× throughput", num(hang.rps.Median/normal.rps.Median)), fmt.Sprintf("%d", hang.rps.N)}})
		}
		if ratio.N > 0 && ratio.Median < minRatio {
			d.line("**Throughput target missed** (node ÷ static %s×, repetitions %s× to %s×).", num(ratio.Median), num(ratio.Min), num(ratio.Max))
			if ratio.Max >= minRatio {
				d.line("The repetitions straddle the target: on this machine the noise between two runs is larger")
				d.line("than the gap, and more and longer runs on a quiet machine are needed to call it.")
			}
			d.line("The node answers from a snapshot published when results arrive (no check runs in the")
			d.line("handler), but it builds each answer: the pre-rendered body is copied and the uptime appended%s,", handlerCost(in.GoBench))
			d.line("where the static handler writes a fixed slice; and the node process shares the two cores with")
			d.line("its own libp2p and probe work (section 4) and with the load generator. What would close it: write")
			d.line("the pre-rendered body as it is, without the per-request copy (the uptime rendered at each")
			d.line("publication, to the second), and measure on a quiet machine.")
			d.line("")
		}
		if normal.p99.N > 0 && normal.p99.Median > maxP99ms {
			st := httpCellOf(h, results.PhaseNormal, results.TargetStatic, "/health")
			d.line("**Latency target missed** (p99 %s ms; the static server's in the same minutes: %s ms).", num(normal.p99.Median), num(st.p99.Median))
			if st.p99.Median > maxP99ms {
				d.line("The static server misses it too: with %d connections on a closed loop and the load generator", h.Connections)
				d.line("on the same cores, the tail is the machine's scheduling (%s), not the handler.", loadShort(h.Header))
				d.line("What would close it: a quiet machine, or the load generator on another host.")
			} else {
				d.line("The static server meets it, so the extra tail is the node's: its other goroutines (libp2p,")
				d.line("probes, the 250 ms scheduler tick) and garbage collection of the per-request allocations%s", handlerCost(in.GoBench))
				d.line("preempt the handler. What would close it: no per-request copy of the pre-rendered body (fewer")
				d.line("allocations, less GC) and a CPU profile of the node under load to find the rest.")
			}
			d.line("")
		}
		if hang.rps.N > 0 && !hangOK {
			d.line("**\"Unchanged while a probe hangs\" missed** by the rule in the summary. The handlers read a")
			d.line("snapshot and never wait for a check, so a hung check cannot block them; what changes while the")
			d.line("node is unhealthy is the answer (503, another body) and the node's other work (the watchdog")
			d.line("republishes the snapshot as results go stale). What would close it: find which of the two with")
			d.line("`BenchmarkHealthJSON` on an unhealthy snapshot and a CPU profile of the node under load.")
			d.line("")
		}
		notes(d, h.Header)
	}
	return section{targets: targets, render: render}
}

// handlerCost quotes BenchmarkHealthJSON/prerendered when it ran.
func handlerCost(g *results.GoBench) string {
	if g == nil {
		return ""
	}
	var ns, b, a []float64
	for _, r := range g.Results {
		if r.Name == "BenchmarkHealthJSON/prerendered" {
			ns, b, a = append(ns, r.NsPerOp), append(b, r.BytesPerOp), append(a, r.AllocsPerOp)
		}
	}
	if len(ns) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s ns, %.0f B in %.0f allocations per answer: `BenchmarkHealthJSON/prerendered`, section 6)",
		num(stats.Summarize(ns).Median), stats.Summarize(b).Median, stats.Summarize(a).Median)
}

func toolText(h *results.HTTP) string {
	if h.Tool == "" {
		return "The load generator"
	}
	if h.Threads > 0 && strings.HasPrefix(h.Tool, "wrk") {
		if h.Threads == 1 {
			return fmt.Sprintf("`%s` (1 thread)", h.Tool)
		}
		return fmt.Sprintf("`%s` (%d threads)", h.Tool, h.Threads)
	}
	return "`" + h.Tool + "`"
}
