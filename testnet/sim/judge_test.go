package sim

import (
	"strings"
	"testing"
)

// A built-in run passes (bin/testnet sim exits 0) only when the mesh met
// the bar: converged, failed over, every victim confirmed, and no node the
// scenario spared raised an alarm or exited; a cut-off victim that exits 3
// is what it should do.
func TestJudgeNamesEveryShortfall(t *testing.T) {
	running := func(n int) []View {
		vs := make([]View, n)
		for i := range vs {
			vs[i] = View{Index: i, Running: true}
		}
		return vs
	}
	good := func() Report {
		return Report{Figures: Figures{ConvergeSeconds: 4.5}, Victims: []int{3}, DetectionSeconds: []float64{8},
			KilledLeader: "L", FailoverSeconds: 4}
	}
	faulted := map[int]bool{0: true, 3: true}

	r := good()
	vs := running(5)
	vs[3] = View{Index: 3, Code: 3, Reason: "cut off"} // a victim's exit is expected
	vs[0] = View{Index: 0, Code: 137}                  // the killed leader
	if got := r.judge(vs, faulted); len(got) != 0 {
		t.Fatalf("a run that met the bar: problems %q", got)
	}

	for _, c := range []struct {
		name   string
		change func(*Report, []View)
		want   string
	}{
		{"never converged", func(r *Report, _ []View) { r.ConvergeSeconds = -1 }, "never converged"},
		{"no failover", func(r *Report, _ []View) { r.FailoverSeconds = -1 }, "never agreed on another"},
		{"a victim never detected", func(r *Report, _ []View) { r.DetectionSeconds[0] = -1 }, "node 3 was cut off and never confirmed"},
		{"a false alarm", func(r *Report, _ []View) { r.FalseAlarms = []string{"node 2 healthy -> degraded"} }, "1 false alarms"},
		{"a spared node exited", func(_ *Report, vs []View) { vs[2] = View{Index: 2, Code: 3, Reason: "dht"} }, "node 2 exited though not faulted"},
	} {
		r := good()
		vs := running(5)
		c.change(&r, vs)
		got := r.judge(vs, faulted)
		if len(got) != 1 || !strings.Contains(got[0], c.want) {
			t.Errorf("%s: problems %q, want one naming %q", c.name, got, c.want)
		}
	}
}
