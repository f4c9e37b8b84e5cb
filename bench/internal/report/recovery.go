package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// Issue 21's targets for a zone outage that heals within the budget.
const (
	tRecExits   = "a zone outage healed within the recovery budget: no node exits"
	tRecHealthy = "the zone healthy again within 20 s of the heal"
	recWithin   = 20.0
)

func recoverySection(in *Input) section {
	const title = "8. Recovery before exit: a zone cut off and healed within the budget (issue 21)"
	r := in.Recovery
	if r == nil {
		return section{
			targets: []targetRow{{"8", tRecExits, notMeas, notMeas}, {"8", tRecHealthy, notMeas, notMeas}},
			render:  func(d *doc) { notRun(d, title, "meshbench recovery") },
		}
	}
	secs := func(get func(results.RecoveryRep) *float64) []float64 {
		var xs []float64
		for _, rep := range r.Reps {
			if v := get(rep); v != nil {
				xs = append(xs, *v)
			} else {
				xs = append(xs, math.NaN())
			}
		}
		return xs
	}
	detect := secs(func(x results.RecoveryRep) *float64 { return x.DetectionSeconds })
	passing := secs(func(x results.RecoveryRep) *float64 { return x.PassingSeconds })
	healthy := secs(func(x results.RecoveryRep) *float64 { return x.HealthySeconds })
	exits := 0
	for _, rep := range r.Reps {
		exits += rep.Exits
	}
	hs := stats.Summarize(healthy)
	healthyOK := hs.N == len(r.Reps) && hs.Max <= recWithin
	targets := []targetRow{
		{"8", tRecExits, fmt.Sprintf("%d exits in %d outages", exits, len(r.Reps)), yesNo(exits == 0)},
		{"8", tRecHealthy, "max " + medMax(hs), yesNo(healthyOK)},
	}
	return section{targets: targets, render: func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("The testnet's `zone-recovery` scenario up to its heal, on a fresh %d-node netns testnet per", r.Nodes)
		d.line("outage: past the startup grace and healthy, the last %d nodes lose their links together for", r.Zone)
		d.line("about %.0f s, each finds itself cut off (not healthy) and runs its recovery steps instead of", r.OutageSeconds)
		d.line("exiting; then the links come back. Times run from the cut (detection) and from the last heal")
		d.line("(every check passing, then every node healthy under one leader). Each zone node's last recovery")
		d.line("is read from its `/health`: its outcome and the step after which its checks passed (`fixed_by`:")
		d.line("the step under way when they did, not proof that it was the cause). %s.", loadNote(r.Header))
		d.line("")
		d.table([]string{"outages", "detection", "heal → every check passing", "heal → every node healthy", "exits"},
			[][]string{{fmt.Sprint(len(r.Reps)), medRange(stats.Summarize(detect), " s"),
				medRange(stats.Summarize(passing), " s"), medRange(hs, " s"), fmt.Sprint(exits)}})
		d.line("")
		var rows [][]string
		for i, rep := range r.Reps {
			for _, rec := range rep.Records {
				rows = append(rows, []string{fmt.Sprint(i + 1), rec.Node, rec.Outcome, dashIfEmpty(rec.FixedBy),
					num(rec.Seconds) + " s", strings.Join(rec.Checks, ", ")})
			}
			if rep.Error != "" {
				rows = append(rows, []string{fmt.Sprint(i + 1), "—", "error: " + rep.Error, "—", "—", "—"})
			}
		}
		d.table([]string{"outage", "node", "outcome", "fixed by", "recovery took", "failing checks"}, rows)
		d.line("")
		byStep := map[string]int{}
		for _, rep := range r.Reps {
			for _, rec := range rep.Records {
				if rec.Outcome == "recovered" {
					byStep[dashIfEmpty(rec.FixedBy)]++
				}
			}
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(byStep)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, byStep[k]))
		}
		if len(parts) > 0 {
			d.line("Recoveries by the step that ended them: %s.", strings.Join(parts, ", "))
			d.line("")
		}
		if !healthyOK && hs.N > 0 {
			d.line("**Missed: %s** (%s): every check passed again at %s after the heal, so what held a", tRecHealthy, "max "+medMax(hs), medRange(stats.Summarize(passing), " s"))
			d.line("node below healthy longer was the system score (a \"checks slow\" or score message), whose window")
			d.line("forgets a run after `--score-horizon` (1 min); the bench does not record which node or why.")
			d.line("")
		}
		notes(d, r.Header)
	}}
}

// medMax is "max s (median s)".
func medMax(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s s (median %s s)", num(s.Max), num(s.Median))
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
