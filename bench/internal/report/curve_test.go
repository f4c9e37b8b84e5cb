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
		c.Intake = append(c.Intake, results.NodeIntake{Node: name, PerSecond: intake,
			ByTopic: map[string]float64{"meshhealth/probe/v1": intake / 2, "meshhealth/election/v1": intake / 2}})
		c.Procs = append(c.Procs,
			results.ProcSample{Kind: results.KindNode, Name: name, CPUShare: cpu, RSSMaxB: 40 << 20},
			results.ProcSample{Kind: results.KindBare, Name: fmt.Sprintf("bare%d", i), CPUShare: bareCPU, RSSMaxB: 30 << 20})
	}
	return c
}

func TestCurveVerdictsFollowIssue11Targets(t *testing.T) {
	tests := []struct {
		name  string
		curve []results.Curve
		want  map[string]string // target fragment → verdict fragment
	}{
		{"flat and cheap", []results.Curve{
			curve(10, 5, 4, 0.004, 0.001), curve(50, 20, 5, 0.008, 0.0015), curve(100, 45, 5.5, 0.009, 0.002),
		}, map[string]string{
			"≤ 1.5 × N = 10": met, "≤ 10 at every N": met, "≤ 1 % of a core": met,
			"50 netns nodes": met, "100 netns nodes: all ready": met,
		}},
		{"quadratic, as on main", []results.Curve{
			curve(10, 5, 8, 0.013, 0.001), curve(50, 40, 40, 0.05, 0.0015), curve(100, 90, 80, 0.1, 0.002),
		}, map[string]string{
			"≤ 1.5 × N = 10": missed, "≤ 10 at every N": missed, "≤ 1 % of a core": missed,
			"50 netns nodes": missed, "100 netns nodes: all ready": missed,
		}},
		{"quick mode", []results.Curve{curve(10, 5, 4, 0.004, 0.001), curve(50, 20, 5, 0.008, 0.0015)}, map[string]string{
			"≤ 1.5 × N = 10": notMeas, "≤ 10 at every N": met, "≤ 1 % of a core": met,
			"50 netns nodes": met, "100 netns nodes: all ready": notMeas, "10-minute hold": notMeas,
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
	row := summaryRow(t, doc, "50 netns nodes")
	if !strings.Contains(row, "no single leader") || !strings.HasSuffix(row, missed+" |") {
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
