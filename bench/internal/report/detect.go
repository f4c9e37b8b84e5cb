package report

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// The detection targets: median of the repetitions within 5 s, none over
// 8 s, for a partitioned node and a killed leader.
const (
	detectMedian = 5.0
	detectMax    = 8.0
)

// faultOrder and the targets by fault.
var faultOrder = []string{"partition", "kill-leader", "stop-leader", "pubsub-drop-inbound", "pubsub-outbound-only", "pubsub-inbound-only",
	"dht-fail-put", "election-freeze-heartbeats", "scheduler-stall"}

// Issue 25's detection goals, at N = 5 and N = 50 alike: the median time to
// detection for each fault, and for a faulted follower the median time from
// the heal until it says healthy again.
var sizeGoals = []struct {
	fault  string
	median float64
}{
	{"partition", 5}, {"kill-leader", 5}, {"pubsub-outbound-only", 10}, {"pubsub-inbound-only", 10},
}

const healthyAgainMax = 15.0

var faultTargets = map[string]string{
	"partition":   "the partitioned node non-healthy: median ≤ 5 s, none > 8 s",
	"kill-leader": "a killed leader replaced: median ≤ 5 s, none > 8 s",
}

var eventWords = map[string]string{
	results.EventNonHealthy: "target non-healthy",
	results.EventCheck:      "check failing",
	results.EventFailover:   "new leader agreed",
}

// eventTimes gathers one event's times over the runs of a fault that
// applied the fault; a run that did not see it by its deadline counts as
// +Inf, so a miss can never improve a median.
func eventTimes(runs []results.FaultRun, fault, event string) (xs []float64, applied int) {
	for _, r := range runs {
		if r.Fault != fault || !ranFault(r) {
			continue
		}
		applied++
		var v *float64
		switch event {
		case results.EventNonHealthy:
			v = r.NonHealthy
		case results.EventCheck:
			v = r.Check
		case results.EventFailover:
			v = r.Failover
		}
		if v == nil {
			xs = append(xs, math.Inf(1))
		} else {
			xs = append(xs, *v)
		}
	}
	return xs, applied
}

// ranFault: the fault was applied (no error before or while applying it).
func ranFault(r results.FaultRun) bool {
	return r.Target != "" && (r.Error == "" || strings.HasPrefix(r.Error, "undo:") || strings.HasPrefix(r.Error, "no recovery:"))
}

func headline(runs []results.FaultRun, fault string) string {
	for _, r := range runs {
		if r.Fault == fault && len(r.Watched) > 0 {
			return r.Watched[0]
		}
	}
	return ""
}

// fmtTimes is "median / max (n)"; a time that was never seen reads "not
// seen" (within the run's deadline for an awaited event).
func fmtTimes(s stats.Summary, deadline float64) string {
	if s.N == 0 {
		return "n/a"
	}
	f := func(v float64) string {
		if math.IsInf(v, 1) {
			return "not seen"
		}
		return fmt.Sprintf("%.1f s", v)
	}
	if s.N == 1 {
		return f(s.Median)
	}
	return fmt.Sprintf("%s / %s (%d)", f(s.Median), f(s.Max), s.N)
}

func deadlineOf(runs []results.FaultRun, fault string) float64 {
	for _, r := range runs {
		if r.Fault == fault && r.Deadline > 0 {
			return r.Deadline
		}
	}
	return 0
}

func faultsIn(ds ...*results.Detect) []string {
	seen := map[string]bool{}
	for _, d := range ds {
		if d == nil {
			continue
		}
		for _, r := range d.Runs {
			seen[r.Fault] = true
		}
	}
	var out []string
	for _, f := range faultOrder {
		if seen[f] {
			out = append(out, f)
		}
	}
	return out
}

func detectSection(in *Input) section {
	ours, ref := in.Detect, in.DetectRef
	const title = "2. Detection"
	sized := sizeRuns(in)
	if ours == nil {
		ts := []targetRow{
			{"2", faultTargets["partition"], notMeas, notMeas},
			{"2", faultTargets["kill-leader"], notMeas, notMeas},
		}
		ts = append(ts, sizeTargets(sized)...)
		return section{
			targets: ts,
			render: func(d *doc) {
				notRun(d, title, "meshbench detect")
				sizeTable(d, sized)
			},
		}
	}
	var targets []targetRow
	for _, f := range []string{"partition", "kill-leader"} {
		xs, n := eventTimes(ours.Runs, f, headline(ours.Runs, f))
		s := stats.Summarize(xs)
		if n == 0 {
			targets = append(targets, targetRow{"2", faultTargets[f], notMeas + whyNotRun(ours.Runs, f), notMeas})
			continue
		}
		ok := s.Median <= detectMedian && s.Max <= detectMax
		m := fmt.Sprintf("median %s, max %s over %s (%d-node netns testnet)",
			fmtTimes(stats.Summary{N: 1, Median: s.Median}, 0), fmtTimes(stats.Summary{N: 1, Median: s.Max}, 0), plural(n, "rep"), ours.Nodes)
		v := yesNo(ok)
		if ok && n < 5 {
			v += " (fewer than the 5 reps the issue asks)"
		}
		targets = append(targets, targetRow{"2", faultTargets[f], m, v})
	}
	targets = append(targets, sizeTargets(sized)...)

	render := func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("A %d-node %s testnet (one network namespace per node, found by mDNS; a partition is the", ours.Nodes, ours.Mode)
		d.line("node's link taken down). Before each repetition every node must be ready with one leader and")
		d.line("the node to be faulted healthy; a follower is faulted only once it has run %.0f s, because until", ours.WarmupSeconds)
		d.line("a probe has a few successful round-trips its adaptive timeout is the configured ceiling, and a")
		d.line("partition of a younger node takes three full timeouts to confirm (docs/ARCHITECTURE.md, Defaults and why).")
		d.line("The fault is applied (to the leader, or in turn to a follower), every node's `/health` is read")
		d.line("every %d ms (from inside the node's namespace, so a partitioned node is still watched), and the", ours.PollMs)
		d.line("times run from the fault to the first poll that shows the event; then the fault is undone and")
		d.line("the node's recovery is timed twice: ready again and following the others' leader, then healthy")
		d.line("again (back in service). Issue 25's faults also run at N = 50 (`BENCH_DETECT_AT`), in a table")
		d.line("of their own below.")
		if ours.Overlap {
			d.line("To fit the quick budget the next fault may start while that node still recovers; it is then")
			d.line("neither faulted nor counted until it has.")
		}
		d.line("Repetitions go round all faults in turn, the leader's first. Nodes run with")
		d.line("`--shutdown-on-critical=false` (a detected node stays up to be healed) and")
		d.line("`--election-max-leader-changes=1000` (the run changes leaders on purpose several times a")
		d.line("round, which election-stability's flapping rule would otherwise report on every node for ten")
		d.line("minutes). Times: median / max (repetitions); resolution about one poll plus one HTTP round-trip.")
		d.line("%s (ours).", loadNote(ours.Header))
		d.line("")
		d.line("Ours (the defaults):")
		d.line("")
		d.command(ours.Command)
		if ref != nil {
			d.line("The reference configuration: the reference health package's default intervals and timeouts")
			d.line("set through our flags (pubsub 30 s / 10 s, DHT 60 s / 20 s, election check 15 s / 5 s,")
			d.line("connectivity 30 s, 3 failed probes, re-probe after 30 s instead of our 0.5 s retry). Our")
			d.line("event triggers (the pubsub silence trigger, connectivity re-run on disconnect) and adaptive")
			d.line("timeouts stay on and the election's own timers are ours in both, so these figures are a lower")
			d.line("bound for the reference itself:")
			d.line("")
			d.command(ref.Command)
			if missing := missingFaults(ours, ref); len(missing) > 0 {
				d.line("The reference configuration did not run %s in this invocation (`BENCH_MODE=full` runs every", strings.Join(missing, ", "))
				d.line("fault): they wait a full reference interval or three, and the quick budget does not hold them.")
				d.line("")
			}
		}
		var rows [][]string
		for _, f := range faultsIn(ours, ref) {
			ev := headline(ours.Runs, f)
			if ev == "" && ref != nil {
				ev = headline(ref.Runs, f)
			}
			xs, n := eventTimes(ours.Runs, f, ev)
			so := stats.Summarize(xs)
			cellOurs := fmtTimes(so, deadlineOf(ours.Runs, f))
			if n == 0 {
				cellOurs = "not run" + whyNotRun(ours.Runs, f)
			}
			cellRef, ratio := "not run", noTarget
			if ref != nil {
				rx, rn := eventTimes(ref.Runs, f, ev)
				sr := stats.Summarize(rx)
				if rn > 0 {
					cellRef = fmtTimes(sr, deadlineOf(ref.Runs, f))
					if n > 0 && so.Median > 0 && !math.IsInf(so.Median, 0) && !math.IsInf(sr.Median, 0) {
						ratio = fmt.Sprintf("%s×", num(sr.Median/so.Median))
					} else if math.IsInf(sr.Median, 1) {
						ratio = "> " + num(deadlineOf(ref.Runs, f)/so.Median) + "×"
					}
				} else {
					cellRef = "not run" + whyNotRun(ref.Runs, f)
				}
			}
			target, verdict := noTarget, noTarget
			if t, ok := faultTargets[f]; ok {
				target = t
				if n > 0 {
					verdict = yesNo(so.Median <= detectMedian && so.Max <= detectMax)
				}
			}
			rows = append(rows, []string{"`" + f + "`", eventWords[ev], cellOurs, cellRef, ratio, target, verdict})
		}
		d.line("Time to detection, median / max (repetitions), ours against the reference configuration:")
		d.line("")
		d.table([]string{"fault", "judged on", "ours", "reference config", "reference ÷ ours", "target", "verdict"}, rows)
		d.line("For comparison, memberlist's LAN defaults (1 s probes, 500 ms timeout, suspicion from 4 s up to")
		d.line("24 s, shortened by confirmations) need 5 to 25 s to declare a dead peer.")
		d.line("")
		sizeTable(d, sized)
		detailTable(d, "Every event, ours", ours)
		for i := range in.DetectAt {
			detailTable(d, fmt.Sprintf("Every event, ours at N = %d", in.DetectAt[i].Nodes), &in.DetectAt[i])
		}
		if ref != nil {
			detailTable(d, "Every event, reference configuration", ref)
		}
		causes(d, ours)
		detectMisses(d, ours)
		notes(d, ours.Header, "ours")
		for i := range in.DetectAt {
			notes(d, in.DetectAt[i].Header, fmt.Sprintf("ours at N = %d", in.DetectAt[i].Nodes))
		}
		if ref != nil {
			notes(d, ref.Header, "reference configuration")
		}
	}
	return section{targets: targets, render: render}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// missingFaults are the faults ours ran and the reference did not.
func missingFaults(ours, ref *results.Detect) []string {
	var out []string
	have := faultsIn(ref)
	for _, f := range faultsIn(ours) {
		if !slices.Contains(have, f) {
			out = append(out, "`"+f+"`")
		}
	}
	return out
}

func whyNotRun(runs []results.FaultRun, fault string) string {
	for _, r := range runs {
		if r.Fault == fault && r.Error != "" {
			if strings.Contains(r.Error, "unknown fault") {
				return " (fault not supported by this node)"
			}
			return " (" + r.Error + ")"
		}
	}
	return ""
}

func detailTable(d *doc, title string, det *results.Detect) {
	var rows [][]string
	for _, f := range faultsIn(det) {
		dl := deadlineOf(det.Runs, f)
		cell := func(ev string) string {
			awaited, seen := false, false
			for _, r := range det.Runs {
				if r.Fault != f {
					continue
				}
				awaited = awaited || slices.Contains(r.Watched, ev)
				seen = seen || (ev == results.EventCheck && r.CheckName != "")
			}
			xs, n := eventTimes(det.Runs, f, ev)
			switch {
			case awaited:
				return fmtTimes(stats.Summarize(xs), dl)
			case !seen:
				return noTarget
			}
			// Recorded when it came, not waited for: say how often.
			var got []float64
			for _, x := range xs {
				if !math.IsInf(x, 1) {
					got = append(got, x)
				}
			}
			return fmt.Sprintf("in %d of %d reps (median %s, not awaited)", len(got), n, fmtTimes(stats.Summarize(got), dl))
		}
		var checks, status, others, errs []string
		var rec, healthy []float64
		targets := map[string]bool{}
		for _, r := range det.Runs {
			if r.Fault != f {
				continue
			}
			if r.Role != "" {
				targets[r.Role] = true
			}
			if r.CheckName != "" && !slices.Contains(checks, checkOnly(r.CheckName)) {
				checks = append(checks, checkOnly(r.CheckName))
			}
			if r.NonHealthyStatus != "" && !slices.Contains(status, r.NonHealthyStatus) {
				status = append(status, r.NonHealthyStatus)
			}
			for _, o := range r.OthersNonHealthy {
				if !slices.Contains(others, o) {
					others = append(others, o)
				}
			}
			if r.Recovered != nil {
				rec = append(rec, *r.Recovered)
			}
			if r.Healthy != nil {
				healthy = append(healthy, *r.Healthy)
			}
			e := r.Error
			if strings.Contains(e, "unknown fault") {
				e = "fault not supported by this node"
			}
			if e != "" && !slices.Contains(errs, e) {
				errs = append(errs, e)
			}
		}
		role := strings.Join(sortedKeys(targets), ", ")
		rows = append(rows, []string{"`" + f + "`", role,
			withDetail(cell(results.EventNonHealthy), status), withDetail(cell(results.EventCheck), checks), cell(results.EventFailover),
			orDash(others), medRange(stats.Summarize(rec), " s"), medRange(stats.Summarize(healthy), " s"), orDash(errs)})
	}
	d.line("%s (median / max (repetitions)). \"Others left healthy\" names the nodes, other than the faulted", title)
	d.line("one and healthy when it began, that reported anything else during the detection window: a false")
	d.line("alarm. A follower that hears the mesh while its leader is silent or gone passes election-stability")
	d.line("through a failover of up to 3 heartbeat timeouts (docs/ARCHITECTURE.md, \"A leader's death is not")
	d.line("its followers' fault\"); a leader frozen or killed for longer degrades them, as it should.")
	d.line("")
	d.table([]string{"fault", "target", "target non-healthy", "check failing", "new leader agreed", "others left healthy", "ready after undo", "healthy after undo", "errors"}, rows)
}

func checkOnly(s string) string {
	name, _, _ := strings.Cut(s, " on ")
	return name
}

func withDetail(cell string, detail []string) string {
	if len(detail) == 0 || cell == noTarget {
		return cell
	}
	return cell + " (" + strings.Join(detail, ", ") + ")"
}

func orDash(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, "; ")
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// causes lists what each faulted node said when it left healthy: the
// evidence for where the time went.
func causes(d *doc, det *results.Detect) {
	var lines []string
	for _, f := range faultsIn(det) {
		for _, r := range det.Runs {
			if r.Fault != f || r.NonHealthy == nil {
				continue
			}
			pt := ""
			if r.ProbeTimeout > 0 && (f == "partition" || f == "pubsub-drop-inbound") {
				pt = fmt.Sprintf(" (pubsub probe timeout before the fault: %s s)", num(r.ProbeTimeout))
			}
			lines = append(lines, fmt.Sprintf("- `%s` rep %d, %s%s, %.1f s: %s \"%s\"", f, r.Rep, r.Target, pt, *r.NonHealthy, r.NonHealthyStatus, clip(r.NonHealthyMessage, 150)))
			if r.Check != nil && r.CheckMessage != "" && r.CheckMessage != r.NonHealthyMessage {
				lines = append(lines, fmt.Sprintf("  then at %.1f s: \"%s\"", *r.Check, clip(r.CheckMessage, 150)))
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	d.line("What each faulted node said when it left healthy (its status message), and when the awaited")
	d.line("check then failed:")
	d.line("")
	for _, l := range lines {
		d.line("%s", l)
	}
	d.line("")
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// waitedRe finds the adaptive timeout a pubsub probe attempt waited, in
// messages such as "no ack from 3 responders within 1.51s".
var waitedRe = regexp.MustCompile(`within ([0-9.]+(?:ms|s))`)

// budgetSeconds is the time docs/ARCHITECTURE.md ("A partitioned node")
// derives for a partitioned node's pubsub-roundtrip check to be confirmed
// failing. The report compares with it; the derivation stays in the doc.
const budgetSeconds = 4.5

// checkBudget compares the time until pubsub-roundtrip (or connectivity)
// was confirmed failing after a partition with that budget. The target is
// judged on the node leaving healthy, which a score drop may do sooner; the
// budget is about the check.
func checkBudget(d *doc, det *results.Detect) {
	cx, n := eventTimes(det.Runs, "partition", results.EventCheck)
	cs := stats.Summarize(cx)
	if n == 0 || cs.Median <= budgetSeconds {
		return
	}
	var waited []string
	for _, r := range det.Runs {
		if r.Fault != "partition" {
			continue
		}
		for _, m := range []string{r.NonHealthyMessage, r.CheckMessage} {
			if w := waitedRe.FindStringSubmatch(m); w != nil && !slices.Contains(waited, w[1]) {
				waited = append(waited, w[1])
			}
		}
	}
	d.line("**The partition's check exceeds its budget** (%s s, derived in docs/ARCHITECTURE.md, \"A partitioned", num(budgetSeconds))
	d.line("node\"): the check was confirmed failing after %s median, %s max.", fmtTimes(stats.Summary{N: 1, Median: cs.Median}, 0), fmtTimes(stats.Summary{N: 1, Median: cs.Max}, 0))
	if len(waited) > 0 {
		d.line("The confirming attempts waited %s (from the nodes' own messages): longer waits than the", strings.Join(waited, " or "))
		d.line("budget's mean the adaptive timeout had stretched (docs/ARCHITECTURE.md, Defaults and why).")
	}
	d.line("")
}

// detectMisses explains each missed detection target with the measured
// breakdown.
func detectMisses(d *doc, det *results.Detect) {
	checkBudget(d, det)
	for _, f := range []string{"partition", "kill-leader"} {
		xs, n := eventTimes(det.Runs, f, headline(det.Runs, f))
		if n == 0 {
			continue
		}
		s := stats.Summarize(xs)
		if s.Median <= detectMedian && s.Max <= detectMax {
			continue
		}
		switch f {
		case "partition":
			cx, _ := eventTimes(det.Runs, f, results.EventCheck)
			cs := stats.Summarize(cx)
			firstElection := 0
			for _, r := range det.Runs {
				if r.Fault != f {
					continue
				}
				if strings.Contains(r.NonHealthyMessage, "election-stability") {
					firstElection++
				}
			}
			d.line("**Partition target missed** (median %s s, max %s s; the check's budget is %s s, derived in", num(s.Median), num(s.Max), num(budgetSeconds))
			d.line("docs/ARCHITECTURE.md, \"A partitioned node\"). Measured: the awaited check (pubsub-roundtrip or")
			d.line("p2p-connectivity) failed at a median of %s; in %d of %d reps the node first said", fmtTimes(stats.Summary{N: 1, Median: cs.Median}, 0), firstElection, n)
			d.line("election-stability (non-critical: degraded) before its pubsub probe was confirmed failing.")
			var timeouts []float64
			for _, r := range det.Runs {
				if r.Fault == f && r.ProbeTimeout > 0 {
					timeouts = append(timeouts, r.ProbeTimeout)
				}
			}
			ts := stats.Summarize(timeouts)
			inflated := ts.N > 0 && ts.Max > 0.5
			if inflated {
				d.line("Just before the fault the node's adaptive pubsub timeout was %s s (median; %s to %s s), above", num(ts.Median), num(ts.Min), num(ts.Max))
				d.line("the floor the budget assumes: a slow success in the recent window holds it up (the rule is in")
				d.line("docs/ARCHITECTURE.md, Defaults and why). (Followers are faulted in turn, so a node partitioned")
				d.line("in one round may be partitioned again in the next.)")
			}
			d.line("Where to look: the adaptive timeout%s, and the silence trigger (docs/ARCHITECTURE.md, \"A", map[bool]string{true: " and the percentile one outlier can set", false: ""}[inflated])
			d.line("partitioned node\"), which could count as the first failed attempt.")
			d.line("")
		case "kill-leader":
			d.line("**Leader failover target missed** (median %s s, max %s s). A SIGKILLed leader sends no resign,", num(s.Median), num(s.Max))
			d.line("so followers stand only after the randomised heartbeat timeout and collect candidates for the")
			d.line("election window before a majority votes (docs/ARCHITECTURE.md, \"A killed leader\"; the values")
			d.line("are the nodes' `--election-heartbeat-timeout` and `--election-window`). What would close it: a")
			d.line("shorter timeout or window, or treating the disconnect of the leader's connections (a killed")
			d.line("process's sockets are closed by the kernel) as a missed heartbeat.")
			d.line("")
		}
	}
}

// sizeRuns are the detection runs of ours issue 25 compares, by rising N:
// the section's own testnet and the other sizes.
func sizeRuns(in *Input) []*results.Detect {
	var out []*results.Detect
	if in.Detect != nil {
		out = append(out, in.Detect)
	}
	for i := range in.DetectAt {
		out = append(out, &in.DetectAt[i])
	}
	return out
}

// sizeResult is one fault at one N: the median time to its headline
// event, and for a follower the median time from the undo to healthy.
type sizeResult struct {
	ran, supported bool
	why            string
	detect         stats.Summary
	healthy        stats.Summary // N == 0 for a leader fault
	leader         bool
}

func sizeOf(det *results.Detect, fault string) sizeResult {
	r := sizeResult{supported: true}
	xs, n := eventTimes(det.Runs, fault, headline(det.Runs, fault))
	if n == 0 {
		r.why = whyNotRun(det.Runs, fault)
		r.supported = !strings.Contains(r.why, "not supported")
		return r
	}
	r.ran, r.detect = true, stats.Summarize(xs)
	var hs []float64
	for _, run := range det.Runs {
		if run.Fault != fault || !ranFault(run) {
			continue
		}
		r.leader = run.Role == "leader"
		switch {
		case run.Healthy != nil:
			hs = append(hs, *run.Healthy)
		case strings.Contains(run.Error, "no recovery"):
			hs = append(hs, math.Inf(1)) // awaited, never healthy again
		}
		// Neither: the run ended before its recovery was awaited
		// (-wait-last-recovery=false), which says nothing of it.
	}
	r.healthy = stats.Summarize(hs)
	return r
}

func (r sizeResult) met(goal float64) bool {
	if r.detect.Median > goal {
		return false
	}
	return r.leader || (r.healthy.N > 0 && r.healthy.Median <= healthyAgainMax)
}

func (r sizeResult) text() string {
	switch {
	case !r.supported:
		return "fault not supported by this node"
	case !r.ran:
		return "not run" + r.why
	}
	s := fmt.Sprintf("detected %s", fmtTimes(r.detect, 0))
	if !r.leader {
		s += fmt.Sprintf("; healthy again %s after the heal", fmtTimes(r.healthy, 0))
	}
	return s
}

func sizeTargets(dets []*results.Detect) []targetRow {
	var out []targetRow
	for _, g := range sizeGoals {
		for _, n := range []int{5, 50} {
			t := fmt.Sprintf("issue 25, N = %d: `%s` detected, median ≤ %g s", n, g.fault, g.median)
			if g.fault != "kill-leader" {
				t += fmt.Sprintf("; healthy again ≤ %g s after the heal", healthyAgainMax)
			}
			var det *results.Detect
			for _, d := range dets {
				if d.Nodes == n {
					det = d
				}
			}
			if det == nil {
				out = append(out, targetRow{"2", t, notMeas, notMeas})
				continue
			}
			r := sizeOf(det, g.fault)
			v := notMeas
			if r.ran {
				v = yesNo(r.met(g.median))
			}
			out = append(out, targetRow{"2", t, r.text(), v})
		}
	}
	return out
}

// sizeTable is issue 25's detection table: each fault at each N measured,
// the median of the reps, and the time from heal to healthy.
func sizeTable(d *doc, dets []*results.Detect) {
	if len(dets) == 0 {
		return
	}
	head := []string{"fault", "judged on"}
	for _, det := range dets {
		head = append(head, fmt.Sprintf("N = %d", det.Nodes))
	}
	head = append(head, "goal")
	var rows [][]string
	for _, g := range sizeGoals {
		ev := ""
		for _, det := range dets {
			if ev = headline(det.Runs, g.fault); ev != "" {
				break
			}
		}
		row := []string{"`" + g.fault + "`", eventWords[ev]}
		for _, det := range dets {
			r := sizeOf(det, g.fault)
			cell := r.text()
			if r.ran {
				cell += " (" + yesNo(r.met(g.median)) + ")"
			}
			row = append(row, cell)
		}
		goal := fmt.Sprintf("median ≤ %g s", g.median)
		if g.fault != "kill-leader" {
			goal += fmt.Sprintf("; healthy ≤ %g s after the heal", healthyAgainMax)
		}
		rows = append(rows, append(row, goal))
	}
	d.line("Issue 25: detection at each size, median / max (repetitions) of the time from the fault to the")
	d.line("event, and for a faulted follower the time from the heal (or the fault's undo) until it says")
	d.line("healthy again and follows the others' leader: back in service. A fault the node refuses")
	d.line("(`/debug/fault` answers unknown fault) reads \"fault not supported by this node\".")
	d.line("")
	for _, det := range dets {
		d.command(det.Command)
	}
	d.table(head, rows)
}
