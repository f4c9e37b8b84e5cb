package report

import (
	"fmt"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

func goBenchSection(in *Input) section {
	g := in.GoBench
	const title = "6. Hot paths (`go test -bench`)"
	if g == nil {
		return section{render: func(d *doc) { notRun(d, title, "go test -bench") }}
	}
	render := func(d *doc) {
		d.line("## %s", title)
		d.line("")
		d.line("`pkg/health/bench_test.go`: a manager with the five default checks and a full history each.")
		d.line("`BenchmarkSnapshotPublish` is the cost of one recorded result (recompute views, scores and status,")
		d.line("render the hot bodies, publish); `BenchmarkScore` one check's window score; `BenchmarkHealthJSON`")
		d.line("serving `/health` (and friends) from a published snapshot. No target is set for these; they")
		d.line("explain section 1. %s.", loadNote(g.Header))
		d.line("")
		d.command(g.Command)
		var order []string
		by := map[string][][3]float64{}
		for _, r := range g.Results {
			if _, ok := by[r.Name]; !ok {
				order = append(order, r.Name)
			}
			by[r.Name] = append(by[r.Name], [3]float64{r.NsPerOp, r.BytesPerOp, r.AllocsPerOp})
		}
		var rows [][]string
		for _, name := range order {
			var ns, b, a []float64
			for _, v := range by[name] {
				ns, b, a = append(ns, v[0]), append(b, v[1]), append(a, v[2])
			}
			rows = append(rows, []string{"`" + name + "`", medRange(stats.Summarize(ns), ""), fmt.Sprintf("%.0f", stats.Summarize(b).Median),
				fmt.Sprintf("%.0f", stats.Summarize(a).Median), fmt.Sprint(len(ns))})
		}
		d.table([]string{"benchmark", "ns/op median (min–max)", "B/op", "allocs/op", "runs"}, rows)
		if bs := strings.TrimSpace(g.Benchstat); bs != "" {
			d.line("benchstat (median ± 95 %% confidence interval):")
			d.line("")
			d.line("```")
			d.line("%s", bs)
			d.line("```")
			d.line("")
		}
		notes(d, g.Header)
	}
	return section{render: render}
}
