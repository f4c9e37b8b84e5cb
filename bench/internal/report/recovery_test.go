package report

import (
	"strings"
	"testing"

	"github.com/meshhealth/meshhealth/bench/internal/results"
)

func TestRecoveryVerdicts(t *testing.T) {
	rep := func(healthy float64, exits int, fixedBy ...string) results.RecoveryRep {
		r := results.RecoveryRep{DetectionSeconds: f(3.7), PassingSeconds: f(4.4), HealthySeconds: f(healthy), Exits: exits}
		for _, s := range fixedBy {
			r.Records = append(r.Records, results.RecoveryRecord{Node: "node9", Checks: []string{"pubsub-roundtrip"},
				Outcome: "recovered", FixedBy: s, Seconds: 6})
		}
		return r
	}
	tests := []struct {
		name            string
		reps            []results.RecoveryRep
		exits, healthy  string
		mustSay, absent string
	}{
		{"healed in time", []results.RecoveryRep{rep(5, 0, "redial", "dht"), rep(19, 0, "redial")}, met, met,
			"dht 1, redial 2", "**Missed"},
		{"slow to healthy", []results.RecoveryRep{rep(5, 0), rep(24, 0)}, met, missed,
			"**Missed: the zone healthy again", ""},
		{"an exit", []results.RecoveryRep{rep(5, 1)}, missed, met, "", ""},
		{"never healthy", []results.RecoveryRep{{DetectionSeconds: f(3), Error: "timed out"}}, met, missed,
			"error: timed out", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Input{Dir: "out", Run: baseRun(), Recovery: &results.Recovery{Nodes: 10, Zone: 4, OutageSeconds: 15, Reps: tt.reps}}
			doc := render(t, in)
			for target, want := range map[string]string{tRecExits: tt.exits, tRecHealthy: tt.healthy} {
				row := summaryRow(t, doc, target)
				cells := strings.Split(row, " | ")
				if got := cells[len(cells)-1]; !strings.HasPrefix(got, want) {
					t.Errorf("%s: verdict %q, want %q (row %q)", target, got, want, row)
				}
			}
			if tt.mustSay != "" && !strings.Contains(doc, tt.mustSay) {
				t.Errorf("the section does not say %q:\n%s", tt.mustSay, doc)
			}
			if tt.absent != "" && strings.Contains(doc, tt.absent) {
				t.Errorf("the section says %q", tt.absent)
			}
		})
	}
}
