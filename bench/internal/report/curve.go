package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// Issue 25's goals for the scale curve (issue 11's, tightened): what an
// operator's node costs at rest, beside a bare host of the same N and degree.
const (
	curveSmall       = 10    // the reference size for flat intake
	curveLarge       = 100   // the size intake is compared at, and held
	curveIntakeRatio = 1.5   // intake at curveLarge ≤ this × intake at curveSmall
	curveIntakeMax   = 3.0   // messages per node per second at any N
	curvePeersMax    = 16    // connected peers per node at any N
	curveTermMax     = 3     // highest election term after start
	curveCPUMax      = 0.005 // of a core per node at rest, at any N
	curveCPUBare     = 3.0   // node CPU ≤ this × a bare host's
	curveReadyMax    = 15.0  // seconds to ready with one leader, N ≤ 50
	curveReady100    = 45.0  // and at 100
	curveHoldSeconds = 600
)

// curvePoint is one N summarised for the tables, the verdicts and the plot.
type curvePoint struct {
	c                     *results.Curve
	intake                stats.Summary // messages/s per node
	byTopic               map[string]stats.Summary
	peers, barePeers, rx  stats.Summary
	term                  float64 // highest election term any node reported
	haveTerm              bool
	nodeCPU, bareCPU      stats.Summary // share of a core
	nodeRSS, bareRSS      stats.Summary // peak bytes
	haveIntake, haveBare  bool
	missingIntake, nNodes int
}

func summarizeCurve(c *results.Curve) curvePoint {
	p := curvePoint{c: c, byTopic: map[string]stats.Summary{}}
	var in, peers, rx []float64
	topics := map[string][]float64{}
	for _, n := range c.Intake {
		if n.Peers != nil {
			peers = append(peers, *n.Peers)
		}
		if n.Term != nil {
			p.term, p.haveTerm = max(p.term, *n.Term), true
		}
		if n.RxPackets != nil {
			rx = append(rx, *n.RxPackets)
		}
		if n.Missing {
			p.missingIntake++
			continue
		}
		in = append(in, n.PerSecond)
		for t, v := range n.ByTopic {
			topics[t] = append(topics[t], v)
		}
	}
	var bp []float64
	for _, v := range c.BarePeers {
		if v >= 0 {
			bp = append(bp, float64(v))
		}
	}
	p.peers, p.barePeers, p.rx = stats.Summarize(peers), stats.Summarize(bp), stats.Summarize(rx)
	p.intake, p.haveIntake = stats.Summarize(in), len(in) > 0
	for t, xs := range topics {
		p.byTopic[t] = stats.Summarize(xs)
	}
	pick := func(kind string, f func(results.ProcSample) float64) stats.Summary {
		var xs []float64
		for _, s := range c.Procs {
			if s.Kind == kind {
				xs = append(xs, f(s))
			}
		}
		return stats.Summarize(xs)
	}
	cpu := func(s results.ProcSample) float64 { return s.CPUShare }
	rss := func(s results.ProcSample) float64 { return float64(s.RSSMaxB) }
	p.nodeCPU, p.bareCPU = pick(results.KindNode, cpu), pick(results.KindBare, cpu)
	p.nodeRSS, p.bareRSS = pick(results.KindNode, rss), pick(results.KindBare, rss)
	p.haveBare = p.bareCPU.N > 0
	p.nNodes = p.nodeCPU.N
	return p
}

func curveAt(ps []curvePoint, n int) *curvePoint {
	for i := range ps {
		if ps[i].c.Nodes == n {
			return &ps[i]
		}
	}
	return nil
}

// Targets of section 7, as the summary names them.
const (
	tPeers  = "peers per node ≤ 16 at every N (meshhealth_connected_peers, every node)"
	tReady  = "ready with one agreed leader ≤ 15 s at every N up to 50"
	tTerm   = "highest election term after start ≤ 3 at every N"
	tCap    = "health messages received per node per s ≤ 3 at every N (mean over every node)"
	tFlat   = "health messages received per node per s: at N = 100 ≤ 1.5 × N = 10"
	tCPU    = "CPU per node at rest ≤ 0.5 % of a core at every N (mean over every node)"
	tCPUBar = "CPU per node ≤ 3 × a bare host of the same N and degree, at every N"
	tLead1h = "100 netns nodes: ready with one agreed leader ≤ 45 s"
	tHold   = "100 netns nodes: 10-minute hold with 0 exits, 0 status or leader changes"
)

func curveSection(in *Input) section {
	const title = "7. Scale curve: what a node costs at rest, beside a bare host (issues 11 and 25)"
	if len(in.Curve) == 0 {
		var ts []targetRow
		for _, t := range []string{tPeers, tReady, tTerm, tCap, tFlat, tCPU, tCPUBar, tLead1h, tHold} {
			ts = append(ts, targetRow{"7", t, notMeas, notMeas})
		}
		return section{targets: ts, render: func(d *doc) { notRun(d, title, "meshbench scale") }}
	}
	var ps []curvePoint
	for i := range in.Curve {
		ps = append(ps, summarizeCurve(&in.Curve[i]))
	}
	sizes := func() string {
		var s []string
		for _, p := range ps {
			s = append(s, fmt.Sprint(p.c.Nodes))
		}
		return strings.Join(s, ", ")
	}()
	var targets []targetRow
	add := func(t, m, v string) { targets = append(targets, targetRow{"7", t, m, v}) }

	// everyN judges one figure at every N: measured lists each N's value,
	// the verdict is met only when every N that has the figure meets it.
	everyN := func(t string, has func(curvePoint) bool, show func(curvePoint) string, ok func(curvePoint) bool) {
		var parts []string
		all, any := true, false
		for _, p := range ps {
			if !has(p) {
				continue
			}
			any = true
			parts = append(parts, fmt.Sprintf("N=%d: %s", p.c.Nodes, show(p)))
			all = all && ok(p)
		}
		if !any {
			add(t, "", notMeas)
			return
		}
		add(t, strings.Join(parts, "; "), yesNo(all))
	}
	everyN(tPeers, func(p curvePoint) bool { return p.peers.N > 0 },
		func(p curvePoint) string {
			return fmt.Sprintf("median %s, max %s", count(p.peers.Median), count(p.peers.Max))
		},
		func(p curvePoint) bool { return p.peers.Max <= curvePeersMax })
	upTo50 := func(p curvePoint) bool { return p.c.Nodes <= 50 }
	everyN(tReady, upTo50, func(p curvePoint) string { return secOrDash(p.c.LeaderSeconds) },
		func(p curvePoint) bool { return p.c.LeaderSeconds != nil && *p.c.LeaderSeconds <= curveReadyMax })
	everyN(tTerm, func(p curvePoint) bool { return p.haveTerm }, termCell,
		func(p curvePoint) bool { return p.term <= curveTermMax })
	everyN(tCap, func(p curvePoint) bool { return p.haveIntake },
		func(p curvePoint) string {
			return fmt.Sprintf("%s/s (busiest %s)", num(p.intake.Mean), num(p.intake.Max))
		},
		func(p curvePoint) bool { return p.intake.Mean <= curveIntakeMax })

	small, large := curveAt(ps, curveSmall), curveAt(ps, curveLarge)
	switch {
	case small != nil && large != nil && small.haveIntake && large.haveIntake && small.intake.Mean > 0:
		r := large.intake.Mean / small.intake.Mean
		add(tFlat, fmt.Sprintf("%s/s at N = %d, %s/s at N = %d (mean node): ×%s", num(small.intake.Mean), curveSmall,
			num(large.intake.Mean), curveLarge, num(r)), yesNo(r <= curveIntakeRatio))
	case small != nil && large != nil:
		add(tFlat, "no intake counter read (a build without meshhealth_pubsub_messages_received_total?)", notMeas)
	default:
		add(tFlat, "", fmt.Sprintf("%s (measured N = %s)", notMeas, sizes))
	}

	everyN(tCPU, func(p curvePoint) bool { return p.nodeCPU.N > 0 },
		func(p curvePoint) string {
			return fmt.Sprintf("%s (busiest %s)", pct(p.nodeCPU.Mean), pct(p.nodeCPU.Max))
		},
		func(p curvePoint) bool { return p.nodeCPU.Mean <= curveCPUMax })
	everyN(tCPUBar, func(p curvePoint) bool { return p.nodeCPU.N > 0 && p.haveBare && p.bareCPU.Mean > 0 },
		func(p curvePoint) string {
			return fmt.Sprintf("%s vs %s, %s", pct(p.nodeCPU.Mean), pct(p.bareCPU.Mean), ratio(p.nodeCPU.Mean, p.bareCPU.Mean))
		},
		func(p curvePoint) bool { return p.nodeCPU.Mean <= curveCPUBare*p.bareCPU.Mean })

	switch {
	case large == nil:
		add(tLead1h, "", fmt.Sprintf("%s (measured N = %s)", notMeas, sizes))
	case large.c.LeaderSeconds == nil:
		add(tLead1h, "no single leader all agreed on before the scenario's timeout"+readyText(large.c), missed)
	default:
		add(tLead1h, fmt.Sprintf("%s s from the first node's start%s", num(*large.c.LeaderSeconds), readyText(large.c)),
			yesNo(*large.c.LeaderSeconds <= curveReady100))
	}

	switch h := holdAt(ps, curveLarge); {
	case large == nil:
		add(tHold, "", fmt.Sprintf("%s (measured N = %s; `BENCH_MODE=full` holds N = 100)", notMeas, sizes))
	case h == nil:
		add(tHold, "no hold at N = 100 in this run (`BENCH_MODE=full` holds it)", notMeas)
	default:
		m := fmt.Sprintf("%d status changes (%d exits), %d leader changes, %d of %d polls failing in %s",
			h.StatusChanges, h.Exits, h.LeaderChanges, h.FailedPolls, h.Polls, minutes(h.Seconds))
		v := yesNo(h.Clean())
		if h.Clean() && h.Seconds < curveHoldSeconds*0.99 {
			v = partial + ": none seen, on a shorter hold than 10 minutes"
		}
		if h.Error != "" {
			m += "; " + h.Error
		}
		add(tHold, m, v)
	}

	render := func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("For each N, the testnet's `scale` scenario starts N nodes in netns mode, found by mDNS alone, with")
		d.line("default flags. Times run from the first node's start until every node answers `/health/ready` 200")
		d.line("and follows one leader that `/metrics` confirms. Then the mesh is left alone for the settling pause")
		d.line("(60 s by default, as issue 25 measured: the mesh at rest, not its start-up) and measured over a window")
		d.line("with nothing polling the nodes:")
		d.line("")
		d.line("- **CPU**: every node process's user + system time from `/proc/<pid>/stat` (all its threads) at both ends")
		d.line("  of the window; CPU per node is the mesh's total ÷ N (the mean), with the busiest node beside it.")
		d.line("- **Intake**: every node's `meshhealth_pubsub_messages_received_total`, summed over every topic the node")
		d.line("  reports (probe, election, summary and any later one), read at both ends of the window and divided by")
		d.line("  the time between that node's own two readings. It counts first receipts (duplicates excluded),")
		d.line("  accepted or not; the figure is the mean over every node. `rx packets/s` is the node's namespace's")
		d.line("  received packets, every copy and all transport overhead included.")
		d.line("- **Peers and term**: each node's `meshhealth_connected_peers` and `meshhealth_election_term` at the end")
		d.line("  of the window; the highest term any node reached since start.")
		d.line("")
		d.line("Then the testnet goes and N bare go-libp2p hosts (`bench/cmd/barehost`: GossipSub on the same topics")
		d.line("and the DHT, no health layer) run on loopback over the same pause and window, with the node's own")
		d.line("connection watermarks (`conn_low`/`conn_high` from `meshhealth --print-config`), each dialling at")
		d.line("random half the nodes' median peer count of hosts started before it (later hosts dial it too), so")
		d.line("the bare mesh's degree is the node mesh's; the bare host peers column shows what it was. Node ÷ bare")
		d.line("is the health layer's share.")
		d.line("")
		d.line("Before issue 25 this section waited only 20 s (quick) or 30 s (full) after convergence, measured 30 s")
		d.line("in quick mode, judged intake on the median node and recorded neither peers nor terms, so a window in")
		d.line("which the mesh was still electing could not be told from one at rest. Issue 25's hand measurement at")
		d.line("N = 50 (60 s after convergence) found 3.3 to 3.9 %% per node, 1.65 to 1.95 cores for the mesh on a")
		d.line("2-core machine: saturated, where late heartbeats start elections whose messages cost more CPU. The")
		d.line("highest-term and rx-packets columns show which regime a window caught.")
		d.line("")
		for _, p := range ps {
			if p.c.Mode != "" && p.c.Mode != "netns" {
				d.line("(N = %d ran in %s mode, found by bootstrap rather than mDNS: a harness check, not a curve point.)", p.c.Nodes, p.c.Mode)
				d.line("")
			}
		}
		if in.Plot != "" {
			d.line("![messages per node per second and CPU per node against N](%s)", in.Plot)
			d.line("")
		}
		figureTable(d, ps)
		var rows [][]string
		for _, p := range ps {
			d.command(p.c.Command)
			rows = append(rows, []string{
				fmt.Sprint(p.c.Nodes), secOrDash(p.c.ReadySeconds), secOrDash(p.c.LeaderSeconds),
				peersCell(p.peers), peersCell(p.barePeers), watermarks(p.c), termCell(p),
				intakeCell(p), topicCell(p), rxCell(p.rx),
				cpuCell(p.nodeCPU), cpuCell(p.bareCPU), ratio(p.nodeCPU.Mean, p.bareCPU.Mean),
				mibRange(p.nodeRSS), mibRange(p.bareRSS),
				fmt.Sprintf("%.2f → %.2f", p.c.NodeLoad[0], p.c.NodeLoad[1]),
			})
		}
		d.table([]string{"N", "all ready", "ready + one leader", "peers /node, median (min–max)", "bare host peers",
			"conn low/high", "highest term", "health msgs in /node/s, mean (median, max)", "by topic, mean", "rx packets /node/s, mean",
			"CPU /node, mean (median–max)", "bare host CPU, mean (median–max)", "node ÷ bare",
			"RSS peak /node, median (min–max)", "bare host RSS peak", "load avg (node window)"}, rows)
		for _, p := range ps {
			var lines []string
			if p.c.WindowSeconds > 0 {
				lines = append(lines, fmt.Sprintf("settled %.0f s after convergence, node window %.0f s", p.c.SettleSeconds, p.c.WindowSeconds))
			}
			if p.haveBare {
				lines = append(lines, fmt.Sprintf("bare window %.0f s at load average %.2f → %.2f", p.c.BareWindowSeconds, p.c.BareLoad[0], p.c.BareLoad[1]))
			}
			if p.missingIntake > 0 {
				lines = append(lines, fmt.Sprintf("%d of %d nodes gave no intake reading", p.missingIntake, len(p.c.Intake)))
			}
			lines = append(lines, loadShort(p.c.Header)+" over the whole point")
			d.line("- N = %d: %s.", p.c.Nodes, strings.Join(lines, "; "))
		}
		d.line("")
		for _, p := range ps {
			if h := p.c.Hold; h != nil {
				d.line("**Hold at N = %d** (%s, every node polled every 2 s): %d status changes (%d exits), %d leader changes,",
					p.c.Nodes, minutes(h.Seconds), h.StatusChanges, h.Exits, h.LeaderChanges)
				d.line("%d of %d polls failing.", h.FailedPolls, h.Polls)
				d.line("")
				for i, c := range slices.Concat(h.Changes, h.Violations) {
					if i == 20 {
						break
					}
					d.line("- %s", c)
				}
				if len(h.Changes)+len(h.Violations) > 0 {
					d.line("")
				}
			}
		}
		curveMisses(d, targets)
		for _, p := range ps {
			notes(d, p.c.Header, fmt.Sprintf("N = %d", p.c.Nodes))
		}
	}
	return section{targets: targets, render: render}
}

// figureTable is issue 25's table: each figure at each measured N, the
// node beside a bare host where a bare host has the figure, and the goal.
func figureTable(d *doc, ps []curvePoint) {
	head := []string{"figure"}
	for _, p := range ps {
		head = append(head, fmt.Sprintf("N = %d", p.c.Nodes))
	}
	head = append(head, "goal")
	row := func(figure, goal string, cell func(curvePoint) string) []string {
		r := []string{figure}
		for _, p := range ps {
			r = append(r, cell(p))
		}
		return append(r, goal)
	}
	rows := [][]string{
		row("peers per node", "≤ 16 at any N", func(p curvePoint) string {
			s := peersCell(p.peers)
			if p.barePeers.N > 0 {
				s += fmt.Sprintf(" (bare %s)", count(p.barePeers.Median))
			}
			return s
		}),
		row("ready with one agreed leader", "≤ 15 s (≤ 45 s at N = 100)", func(p curvePoint) string { return secOrDash(p.c.LeaderSeconds) }),
		row("highest election term after start", "≤ 3", termCell),
		row("health messages received per node per s", "≤ 3, flat from N = 10 to 100", func(p curvePoint) string {
			if !p.haveIntake {
				return "n/a"
			}
			return num(p.intake.Mean) + " (bare 0)"
		}),
		row("CPU per node at rest", "≤ 0.5 % of a core, and ≤ 3× a bare host", func(p curvePoint) string {
			if p.nodeCPU.N == 0 {
				return "n/a"
			}
			if !p.haveBare {
				return pct(p.nodeCPU.Mean)
			}
			return fmt.Sprintf("%s (bare %s, %s)", pct(p.nodeCPU.Mean), pct(p.bareCPU.Mean), ratio(p.nodeCPU.Mean, p.bareCPU.Mean))
		}),
	}
	d.table(head, rows)
}

func peersCell(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (%s–%s)", count(s.Median), count(s.Min), count(s.Max))
}

func termCell(p curvePoint) string {
	if !p.haveTerm {
		return "n/a"
	}
	return count(p.term)
}

// count formats a count, or a median of counts, without false decimals.
func count(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func rxCell(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return num(s.Mean)
}

func watermarks(c *results.Curve) string {
	if c.ConnLow == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d/%d", c.ConnLow, c.ConnHigh)
}

// curveMisses says, for each missed target, where to look: measured
// columns and the architecture's sections, not restated design constants.
func curveMisses(d *doc, targets []targetRow) {
	why := []struct{ key, text string }{
		{"1.5 ×", "per-node intake still grows with N beyond the message budget (docs/ARCHITECTURE.md, \"Flat cost: the " +
			"message budget\"); the \"by topic\" column shows which topic."},
		{"per s ≤ 3", "intake at the worst N is above the per-node goal; the \"by topic\" column shows which topic."},
		{"peers per node", "the connection manager's watermarks or discovery let nodes hold more peers than the goal; " +
			"the conn low/high column shows the watermarks the nodes ran with."},
		{"term", "elections climbed terms while the mesh formed: nodes that did not hear a leader in time stood."},
		{"bare host", "the node ÷ bare column is the health layer's share: the bare hosts exchange no messages, the nodes a " +
			"few a second, each received once per GossipSub mesh peer and acknowledged by the transport (rx packets column)."},
		{"CPU", "compare the rx packets column: per-packet work and timers (docs/ARCHITECTURE.md, \"Connections\")."},
		{"≤ 15 s", "start-up at this size is CPU-bound on 2 cores (each node does handshakes, identify and DHT " +
			"bootstrap), and the election climbs terms while the mesh forms: compare the load average columns."},
		{"≤ 45 s", "as for 50 nodes, at twice the size: nodes that did not answer /health in time are the starved ones."},
		{"hold", "a change without a fault on a loaded machine is starvation (late heartbeats start elections); " +
			"the changes are listed above."},
	}
	for _, t := range targets {
		if !strings.HasPrefix(t.Verdict, missed) {
			continue
		}
		for _, w := range why {
			if strings.Contains(t.Target, w.key) {
				d.line("**Missed: %s** (%s): %s", t.Target, t.Measured, w.text)
				d.line("")
				break
			}
		}
	}
}

func holdAt(ps []curvePoint, n int) *results.CurveHold {
	if p := curveAt(ps, n); p != nil {
		return p.c.Hold
	}
	return nil
}

func readyText(c *results.Curve) string {
	if c.ReadySeconds == nil {
		return " (not all ready either)"
	}
	return fmt.Sprintf(" (all ready at %s s)", num(*c.ReadySeconds))
}

func secOrDash(v *float64) string {
	if v == nil {
		return "not reached"
	}
	return num(*v) + " s"
}

func intakeCell(p curvePoint) string {
	if !p.haveIntake {
		return "n/a"
	}
	return fmt.Sprintf("%s (%s, %s)", num(p.intake.Mean), num(p.intake.Median), num(p.intake.Max))
}

// topicCell lists every topic the nodes reported, the known three first,
// with its mean per node.
func topicCell(p curvePoint) string {
	if !p.haveIntake {
		return "n/a"
	}
	known := []string{"meshhealth/probe/v1", "meshhealth/election/v1", "meshhealth/summary/v1"}
	var rest []string
	for t := range p.byTopic {
		if !slices.Contains(known, t) {
			rest = append(rest, t)
		}
	}
	slices.Sort(rest)
	var parts []string
	for _, t := range slices.Concat(known, rest) {
		s, ok := p.byTopic[t]
		if !ok {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", strings.TrimSuffix(strings.TrimPrefix(t, "meshhealth/"), "/v1"), num(s.Mean)))
	}
	return strings.Join(parts, ", ")
}

func cpuCell(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (%s–%s)", pct(s.Mean), pct(s.Median), pct(s.Max))
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a"
	}
	return "×" + num(a/b)
}
