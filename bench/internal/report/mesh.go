package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// The soak and scale targets.
const (
	soakNodes        = 20
	soakSeconds      = 600
	scaleNodes       = 50
	scaleConvergeMax = 30.0
)

func soakSection(in *Input) section {
	s := in.Soak
	const title = "3. False alarms (soak)"
	const target = "zero false alarms in a 20-node, 10-minute soak"
	if s == nil {
		return section{targets: []targetRow{{"3", target, notMeas, notMeas}}, render: func(d *doc) { notRun(d, title, "meshbench mesh -soak") }}
	}
	changes := s.StatusChanges + s.LeaderChanges
	full := s.Nodes >= soakNodes && s.DurationSeconds >= soakSeconds*0.99
	verdict := yesNo(changes == 0)
	if !full {
		if changes == 0 {
			verdict = partial + ": none seen, on a smaller or shorter soak than the target's"
		} else {
			verdict = missed + " (already on a smaller or shorter soak than the target's)"
		}
	}
	measured := fmt.Sprintf("%d status and %d leader changes in %d nodes × %s", s.StatusChanges, s.LeaderChanges, s.Nodes, minutes(s.DurationSeconds))
	render := func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("After every node of a %d-node %s testnet is ready with one leader, every node's `/health` is read", s.Nodes, s.Mode)
		d.line("every %d ms for %s and every change of status or of followed leader is counted. A poll that", s.PollMs, minutes(s.DurationSeconds))
		d.line("timed out (1 s) keeps the node's last status and is counted apart as \"unreachable\": it is the")
		d.line("harness's timeout on a busy machine, not the node's verdict. %s.", loadNote(s.Header))
		if !full {
			d.line("The target is %d nodes for 10 minutes: `BENCH_MODE=full` runs that.", soakNodes)
		}
		d.line("")
		d.command(s.Command)
		d.table([]string{"nodes", "duration", "polls", "status changes", "leader changes", "unreachable polls", "target", "verdict"},
			[][]string{{fmt.Sprint(s.Nodes), minutes(s.DurationSeconds), fmt.Sprint(s.Polls), fmt.Sprint(s.StatusChanges),
				fmt.Sprint(s.LeaderChanges), fmt.Sprint(s.Unreachable), "0 changes (20 nodes, 10 min)", verdict}})
		if len(s.Transitions) > 0 {
			var rows [][]string
			for i, t := range s.Transitions {
				if i == 30 {
					rows = append(rows, []string{"…", fmt.Sprintf("%d more", len(s.Transitions)-30), "", "", ""})
					break
				}
				rows = append(rows, []string{fmt.Sprintf("%.1f s", t.AtSeconds), t.Node, t.Kind, t.From + " → " + t.To, t.Message})
			}
			d.line("Every change seen:")
			d.line("")
			d.table([]string{"at", "node", "kind", "change", "message"}, rows)
			d.line("**False alarms seen.** Each change above is a node that was not faulted changing its mind;")
			d.line("the message says which check or score moved it. What would close it depends on that check:")
			d.line("a score dip from one slow probe is what the hysteresis (0.02) and the 20-result window damp;")
			d.line("a leader change without a fault means heartbeats were late by more than the heartbeat timeout")
			d.line("(3 s), which on a loaded 2-core machine is starvation, not the network.")
			d.line("")
		}
		notes(d, s.Header)
	}
	return section{targets: []targetRow{{"3", target, measured, verdict}}, render: render}
}

func minutes(secs float64) string {
	if secs >= 90 {
		return fmt.Sprintf("%.1f min", secs/60)
	}
	return fmt.Sprintf("%.0f s", secs)
}

func scaleSection(in *Input) section {
	const title = "5. Scale"
	conv := "50 nodes in netns mode on 2 cores: all ready with one leader within 30 s"
	lin := "probe traffic per node grows at most linearly with the mesh size"
	if len(in.Scale) == 0 {
		return section{targets: []targetRow{{"5", conv, notMeas, notMeas}, {"5", lin, notMeas, notMeas}},
			render: func(d *doc) { notRun(d, title, "meshbench mesh") }}
	}
	var targets []targetRow
	var at50 *results.Scale
	for i := range in.Scale {
		if in.Scale[i].Nodes == scaleNodes {
			at50 = &in.Scale[i]
		}
	}
	sizes := func() string {
		var ns []string
		for _, s := range in.Scale {
			ns = append(ns, fmt.Sprint(s.Nodes))
		}
		return strings.Join(ns, ", ")
	}()
	switch {
	case at50 != nil && at50.ConvergeSeconds != nil:
		targets = append(targets, targetRow{"5", conv, fmt.Sprintf("%s s from the first node's start", num(*at50.ConvergeSeconds)),
			yesNo(*at50.ConvergeSeconds <= scaleConvergeMax)})
	case at50 != nil:
		targets = append(targets, targetRow{"5", conv, "did not converge: " + strings.Join(at50.Notes, "; "), missed})
	default:
		last := in.Scale[len(in.Scale)-1]
		m := fmt.Sprintf("not at 50 nodes (measured N = %s)", sizes)
		if last.ConvergeSeconds != nil {
			m += fmt.Sprintf("; %d nodes: %s s", last.Nodes, num(*last.ConvergeSeconds))
		}
		targets = append(targets, targetRow{"5", conv, m, notMeas + " (`BENCH_MODE=full` runs 10, 25, 50)"})
	}
	growth, growthOK, haveGrowth := trafficGrowth(in.Scale)
	if haveGrowth {
		targets = append(targets, targetRow{"5", lin, growth, yesNo(growthOK)})
	} else {
		targets = append(targets, targetRow{"5", lin, fmt.Sprintf("one mesh size only (N = %s)", sizes), notMeas})
	}

	render := func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("For each N, `testnet up` starts N nodes in netns mode (found by mDNS, nothing else); the times")
		d.line("run from the first node's start until every node is ready, and until every node is ready and")
		d.line("follows the same leader. Traffic is then read over a window: the probe-topic messages each node")
		d.line("published (`meshhealth_pubsub_probe_messages_published_total`), what each node took in on the")
		d.line("probe topic (GossipSub delivers each message once to every subscriber, so it is what all the")
		d.line("others published), and every packet and byte its namespace received (probes, election, summaries,")
		d.line("GossipSub control, DHT: all of it). Pubsub messages received is the node's own count over its three")
		d.line("topics (`meshhealth_pubsub_messages_received_total`, first receipts; \"not exported\" for a build before it).")
		d.line("Per-node figures are medians over the nodes.")
		d.line("")
		var rows [][]string
		for _, s := range in.Scale {
			d.command(s.Command)
			conv := "did not converge"
			if s.ConvergeSeconds != nil {
				conv = num(*s.ConvergeSeconds) + " s"
			}
			med := func(f func(results.NodeRates) float64) string {
				var xs []float64
				for _, r := range s.PerNode {
					xs = append(xs, f(r))
				}
				if len(xs) == 0 {
					return "n/a"
				}
				return num(stats.Summarize(xs).Median)
			}
			recv := "not exported"
			var rv []float64
			for _, r := range s.PerNode {
				if r.Received != nil {
					rv = append(rv, *r.Received)
				}
			}
			if len(rv) > 0 {
				recv = num(stats.Summarize(rv).Median)
			}
			rows = append(rows, []string{fmt.Sprint(s.Nodes), num(s.UpSeconds) + " s", num(s.ReadySeconds) + " s", conv,
				fmt.Sprintf("%.0f s", s.RateSeconds),
				med(func(r results.NodeRates) float64 { return r.ProbePublished }),
				med(func(r results.NodeRates) float64 { return r.ProbeTopicIn }),
				recv,
				med(func(r results.NodeRates) float64 { return r.RxPackets }),
				med(func(r results.NodeRates) float64 { return r.RxBytes / 1024 })})
		}
		d.table([]string{"N", "`up` took", "all ready", "ready + one leader", "window", "probe msgs published /node/min", "probe-topic msgs in /node/min", "pubsub msgs received /node/min", "packets in /node/min", "KiB in /node/min"}, rows)
		if at50 != nil && (at50.ConvergeSeconds == nil || *at50.ConvergeSeconds > scaleConvergeMax) {
			d.line("**50-node convergence target missed.** Starting 50 processes on 2 cores is CPU-bound: each node")
			d.line("loads its key, starts libp2p, GossipSub and the DHT, finds its peers by mDNS and must see a result")
			d.line("of every check before it reports ready, and the election waits `bootstrap_wait` (2 s) and a")
			d.line("majority of members. What would close it: more cores, or a shorter start-up path (the first")
			d.line("DHT probe run as soon as one remote peer is connected rather than on its interval).")
			d.line("")
		}
		d.line("By design a node publishes one probe per interval naming up to 3 responders, and acks the")
		d.line("probes that name it, so each node takes in about 4 (N-1) probe-topic messages per interval")
		d.line("(fewer acks below 4 other nodes): linear in the mesh size. Packets grow faster on small meshes:")
		d.line("GossipSub forwards each message over up to 6 mesh links, so a node receives duplicates from")
		d.line("up to 6 peers, and DHT and identify traffic come on top.")
		d.line("")
		if haveGrowth && !growthOK {
			d.line("**Linear-growth target missed**: per-node probe-topic intake grew faster than the number of")
			d.line("other nodes. That means more messages per probe than one probe and three acks: probes sent")
			d.line("again after a timeout, or acks from peers a probe did not name.")
			d.line("")
		}
		for _, s := range in.Scale {
			notes(d, s.Header)
		}
	}
	return section{targets: targets, render: render}
}

// trafficGrowth compares per-node probe-topic intake between the smallest
// and the largest mesh. A node takes in what every other node publishes, so
// linear growth is a factor of at most (N2-1)/(N1-1), plus 10 % for noise.
// (With fewer than 4 other nodes a probe names fewer than 3 responders, so
// the smallest meshes grow a little faster than that by design.)
func trafficGrowth(sc []results.Scale) (string, bool, bool) {
	var usable []results.Scale
	for _, s := range sc {
		if len(s.PerNode) > 0 && s.RateSeconds > 0 && s.Nodes > 1 {
			usable = append(usable, s)
		}
	}
	if len(usable) < 2 {
		return "", false, false
	}
	medIn := func(s results.Scale) float64 {
		var xs []float64
		for _, r := range s.PerNode {
			xs = append(xs, r.ProbeTopicIn)
		}
		return stats.Summarize(xs).Median
	}
	a, b := usable[0], usable[len(usable)-1]
	ia, ib := medIn(a), medIn(b)
	if ia <= 0 || math.IsNaN(ia) {
		return fmt.Sprintf("no probe traffic measured at N = %d", a.Nodes), false, true
	}
	grew := ib / ia
	allowed := float64(b.Nodes-1) / float64(a.Nodes-1)
	var parts []string
	for _, s := range usable {
		parts = append(parts, fmt.Sprintf("N=%d: %s", s.Nodes, num(medIn(s))))
	}
	return fmt.Sprintf("probe-topic messages in per node per minute %s: ×%s from N=%d to %d (linear in the other nodes: ×%s)",
		strings.Join(parts, ", "), num(grew), a.Nodes, b.Nodes, num(allowed)), grew <= allowed*1.1, true
}
