package report

import (
	"fmt"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// The idle targets.
const (
	idleCPU = 0.02
	idleRSS = 60 << 20
)

func idleSection(in *Input) section {
	s := in.Idle
	const title = "4. Idle cost"
	cpuT, rssT := "idle node: ≤ 2 % of a core with every probe on", "idle node: ≤ 60 MB RSS with every probe on"
	if s == nil || len(s.Procs) == 0 {
		return section{targets: []targetRow{{"4", cpuT, notMeas, notMeas}, {"4", rssT, notMeas, notMeas}},
			render: func(d *doc) { notRun(d, title, "meshbench idle") }}
	}
	sum := func(kind string, f func(results.ProcSample) float64) stats.Summary {
		var xs []float64
		for _, p := range s.Procs {
			if p.Kind == kind {
				xs = append(xs, f(p))
			}
		}
		return stats.Summarize(xs)
	}
	cpu := func(p results.ProcSample) float64 { return p.CPUShare }
	rssMean := func(p results.ProcSample) float64 { return p.RSSMeanB }
	rssMax := func(p results.ProcSample) float64 { return float64(p.RSSMaxB) }
	nodeCPU, bareCPU := sum(results.KindNode, cpu), sum(results.KindBare, cpu)
	nodeRSS, bareRSS := sum(results.KindNode, rssMax), sum(results.KindBare, rssMax)

	targets := []targetRow{
		{"4", cpuT, fmt.Sprintf("%s median, %s the busiest node (bare host: %s)", pct(nodeCPU.Median), pct(nodeCPU.Max), pct(bareCPU.Median)),
			yesNo(nodeCPU.Max <= idleCPU)},
		{"4", rssT, fmt.Sprintf("%s peak, the largest node (bare host: %s)", mib(nodeRSS.Max), mib(bareRSS.Max)),
			yesNo(nodeRSS.Max <= idleRSS)},
	}
	render := func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("Two meshes of %d processes run side by side on loopback for the same %.0f s window, so whatever else", len(s.Procs)/2, s.DurationSeconds)
		d.line("loads the machine loads both alike: meshhealth nodes with every probe on (a local testnet; a node")
		d.line("alone would have no peer to probe), and bare go-libp2p hosts (`bench/cmd/barehost`: the node's")
		d.line("transports, security, muxer, connection and resource managers, GossipSub joined to the node's three")
		d.line("topics and a DHT server on its prefix, no health layer). CPU share = (user + system CPU time over")
		d.line("the window) ÷ wall time, from `/proc/PID/stat`; RSS is `VmRSS`, sampled every second. The verdict")
		d.line("takes the busiest node (the leader publishes heartbeats). %s.", loadNote(s.Header))
		d.line("")
		d.command(s.Command)
		rows := [][]string{
			{"meshhealth node", fmt.Sprint(nodeCPU.N), pctRange(nodeCPU), mibRange(sum(results.KindNode, rssMean)), mibRange(nodeRSS), "≤ 2 % / ≤ 60 MB",
				yesNo(nodeCPU.Max <= idleCPU && nodeRSS.Max <= idleRSS)},
			{"bare libp2p host", fmt.Sprint(bareCPU.N), pctRange(bareCPU), mibRange(sum(results.KindBare, rssMean)), mibRange(bareRSS), noTarget, noTarget},
		}
		d.table([]string{"process", "count", "CPU share of one core, median (min–max)", "RSS mean", "RSS peak", "target", "verdict"}, rows)
		d.line("The health layer's cost is the difference: %s of a core and %s of RSS (medians).",
			pct(nodeCPU.Median-bareCPU.Median), mib(nodeRSS.Median-bareRSS.Median))
		d.line("")
		if nodeCPU.Max > idleCPU {
			d.line("**CPU target missed.** An idle node still runs its checks (pubsub round-trip every 10 s, DHT")
			d.line("put and get every 30 s, election and connectivity every 5 s, resources every 15 s), the")
			d.line("scheduler's 250 ms tick and watchdog, the leader's 1 s heartbeats and the summaries, and renders")
			d.line("its snapshot on every result. Compare with the bare host's figure above for what libp2p alone")
			d.line("costs here. What would close it: profile the node (`go tool pprof`) for the largest share; the")
			d.line("usual suspects are a busy tick and re-rendering on results that changed nothing.")
			d.line("")
		}
		if nodeRSS.Max > idleRSS {
			d.line("**Memory target missed**; compare with the bare host's RSS: most of it is libp2p's own (QUIC")
			d.line("buffers, resource manager, peerstore) rather than the health layer's history rings.")
			d.line("")
		}
		notes(d, s.Header)
	}
	return section{targets: targets, render: render}
}

func pctRange(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (%s–%s)", pct(s.Median), pct(s.Min), pct(s.Max))
}

func mibRange(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (%s–%s)", mib(s.Median), mib(s.Min), mib(s.Max))
}
