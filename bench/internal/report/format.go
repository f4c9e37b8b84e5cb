package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// doc accumulates the document; the first write error sticks.
type doc struct {
	w   io.Writer
	err error
}

func (d *doc) p(format string, args ...any) {
	if d.err != nil {
		return
	}
	_, d.err = fmt.Fprintf(d.w, format, args...)
}

// line writes one paragraph line followed by a newline.
func (d *doc) line(format string, args ...any) { d.p(format+"\n", args...) }

func (d *doc) table(header []string, rows [][]string) {
	d.line("| %s |", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	d.line("|%s|", strings.Join(seps, "|"))
	for _, r := range rows {
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], "|", "\\|")
		}
		d.line("| %s |", strings.Join(r, " | "))
	}
	d.line("")
}

func (d *doc) command(cmd string) {
	d.line("```sh")
	d.line("%s", cmd)
	d.line("```")
	d.line("")
}

// verdict words.
const (
	met      = "**met**"
	missed   = "**missed**"
	notMeas  = "not measured"
	partial  = "partly measured"
	noTarget = "—"
)

func yesNo(ok bool) string {
	if ok {
		return met
	}
	return missed
}

// num formats with a precision that suits the magnitude.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// medRange is "median (min–max)", or the value alone for one sample.
func medRange(s stats.Summary, unit string) string {
	if s.N == 0 {
		return "n/a"
	}
	if s.N == 1 {
		return num(s.Median) + unit
	}
	return fmt.Sprintf("%s%s (%s–%s)", num(s.Median), unit, num(s.Min), num(s.Max))
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func pct(v float64) string { return fmt.Sprintf("%.2f %%", v*100) }
