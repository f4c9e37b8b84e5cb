package report

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"testing"

	"github.com/meshhealth/meshhealth/bench/internal/results"
)

// curve builds one point: every node takes in intake msgs/s and uses cpu
// of a core; bare hosts use bareCPU.
func curve(n int, leader float64, intake, cpu, bareCPU float64) results.Curve {
	c := results.Curve{Header: results.Header{Command: fmt.Sprintf("meshbench scale -n %d", n)}, Nodes: n, Mode: "netns",
		ReadySeconds: f(leader - 1), LeaderSeconds: f(leader), Converged: true, WindowSeconds: 60, BareWindowSeconds: 60}
	for i := range n {
		name := fmt.Sprintf("node%d", i)
		c.Intake = append(c.Intake, results.NodeIntake{Node: name, PerSecond: intake, Peers: f(12), Term: f(2),
			ByTopic: map[string]float64{"meshhealth/probe/v1": intake / 2, "meshhealth/election/v1": intake / 2}})
		c.Procs = append(c.Procs,
			results.ProcSample{Kind: results.KindNode, Name: name, CPUShare: cpu, RSSMaxB: 40 << 20},
			results.ProcSample{Kind: results.KindBare, Name: fmt.Sprintf("bare%d", i), CPUShare: bareCPU, RSSMaxB: 30 << 20})
	}
	return c
}

func TestCurveVerdictsFollowIssue25Goals(t *testing.T) {
	tests := []struct {
		name  string
		curve []results.Curve
		want  map[string]string // target fragment → verdict fragment
	}{
		{"flat and cheap", []results.Curve{
			curve(10, 5, 2, 0.002, 0.001), curve(50, 12, 2.5, 0.003, 0.0015), curve(100, 40, 2.8, 0.004, 0.002),
		}, map[string]string{
			"peers per node": met, "≤ 15 s at every N": met, "highest election term": met,
			"per s ≤ 3 at every N": met, "at N = 100 ≤ 1.5": met, "≤ 0.5 % of a core": met, "≤ 3 × a bare host": met,
			"100 netns nodes: ready": met,
		}},
		{"as on main", []results.Curve{
			curve(10, 5, 4.6, 0.016, 0.0014), curve(50, 45, 8.8, 0.033, 0.0022), curve(100, 90, 20, 0.1, 0.003),
		}, map[string]string{
			"≤ 15 s at every N": missed, "per s ≤ 3 at every N": missed, "at N = 100 ≤ 1.5": missed,
			"≤ 0.5 % of a core": missed, "≤ 3 × a bare host": missed, "100 netns nodes: ready": missed,
		}},
		{"quick mode without 100", []results.Curve{curve(10, 5, 2, 0.002, 0.001), curve(50, 12, 2.5, 0.003, 0.0015)}, map[string]string{
			"at N = 100 ≤ 1.5": notMeas, "per s ≤ 3 at every N": met, "≤ 0.5 % of a core": met,
			"≤ 15 s at every N": met, "100 netns nodes: ready": notMeas, "10-minute hold": notMeas,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := render(t, &Input{Dir: "out", Run: baseRun(), Curve: tt.curve})
			for target, verdict := range tt.want {
				row := summaryRow(t, doc, target)
				cells := strings.Split(row, " | ")
				if got := cells[len(cells)-1]; !strings.HasPrefix(got, verdict) {
					t.Errorf("%s: verdict %q, want %q", target, got, verdict)
				}
			}
		})
	}
}

func TestCurveTooManyPeersOrTermsMissTheirGoals(t *testing.T) {
	c := curve(50, 12, 2, 0.003, 0.0015)
	c.Intake[3].Peers, c.Intake[7].Term = f(49), f(15)
	doc := render(t, &Input{Dir: "out", Run: baseRun(), Curve: []results.Curve{c}})
	for _, target := range []string{"peers per node", "highest election term"} {
		if row := summaryRow(t, doc, target); !strings.HasSuffix(row, missed+" |") {
			t.Errorf("%s: row %q, want missed", target, row)
		}
	}
}

func TestCurveFigureTableSetsTheNodeBesideTheBareHost(t *testing.T) {
	c := curve(10, 5, 2, 0.004, 0.001)
	c.BarePeers = []int{9, 9, 9}
	c.ConnLow, c.ConnHigh = 8, 16
	doc := render(t, &Input{Dir: "out", Run: baseRun(), Curve: []results.Curve{c}})
	for _, want := range []string{
		"| figure | N = 10 | goal |",
		"| peers per node | 12 (12–12) (bare 9) | ≤ 16 at any N |",
		"| CPU per node at rest | 0.40 % (bare 0.10 %, ×4.00) |",
		"| 8/16 |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("no %q in:\n%s", want, doc)
		}
	}
}

func TestCurveHoldVerdict(t *testing.T) {
	for _, tc := range []struct {
		name string
		hold results.CurveHold
		want string
	}{
		{"clean 10 minutes", results.CurveHold{Seconds: 600, Polls: 300}, met},
		{"one exit", results.CurveHold{Seconds: 600, Polls: 300, StatusChanges: 1, Exits: 1, FailedPolls: 40}, missed},
		{"a leader change", results.CurveHold{Seconds: 600, Polls: 300, LeaderChanges: 99}, missed},
		{"clean but short", results.CurveHold{Seconds: 120, Polls: 60}, partial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := curve(100, 45, 5, 0.009, 0.002)
			c.Hold = &tc.hold
			doc := render(t, &Input{Dir: "out", Run: baseRun(), Curve: []results.Curve{c}})
			row := summaryRow(t, doc, "10-minute hold")
			if !strings.Contains(row, "| "+tc.want) {
				t.Errorf("row %q, want verdict %q", row, tc.want)
			}
		})
	}
}

func TestCurveWithoutConvergenceSaysNotReached(t *testing.T) {
	c := curve(50, 50, 40, 0.05, 0.0015)
	c.LeaderSeconds, c.Converged = nil, false
	doc := render(t, &Input{Dir: "out", Run: baseRun(), Curve: []results.Curve{c}})
	row := summaryRow(t, doc, "≤ 15 s at every N")
	if !strings.Contains(row, "not reached") || !strings.HasSuffix(row, missed+" |") {
		t.Errorf("row %q", row)
	}
	if !strings.Contains(doc, "| 50 | 49.0 s | not reached |") {
		t.Errorf("table does not say the leader was not reached:\n%s", doc)
	}
}

func TestWritePlotDrawsTwoPanelsOnlyWithData(t *testing.T) {
	var b bytes.Buffer
	drawn, err := WritePlot(&b, &Input{})
	if err != nil || drawn || b.Len() != 0 {
		t.Fatalf("no curve: drawn %v, %d bytes, %v; want nothing", drawn, b.Len(), err)
	}
	in := &Input{Curve: []results.Curve{curve(10, 5, 4, 0.004, 0.001), curve(50, 20, 5, 0.008, 0.0015)}}
	drawn, err = WritePlot(&b, in)
	if err != nil || !drawn {
		t.Fatalf("drawn %v, %v", drawn, err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() <= r.Dy() {
		t.Errorf("image %v: want the two panels side by side", r)
	}
}
