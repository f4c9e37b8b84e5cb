package promtext

import "testing"

func TestSumAddsEveryLabelSetOfOneMetric(t *testing.T) {
	exp := `# HELP meshhealth_pubsub_probe_messages_published_total Messages.
# TYPE meshhealth_pubsub_probe_messages_published_total counter
meshhealth_pubsub_probe_messages_published_total{type="ack"} 12
meshhealth_pubsub_probe_messages_published_total{type="probe"} 30
meshhealth_pubsub_probe_messages_published_total_extra 1000
meshhealth_up 1
meshhealth_pubsub_probe_messages_published_total_sum{x="}"} 5
`
	for _, tc := range []struct {
		name  string
		want  float64
		found bool
	}{
		{"meshhealth_pubsub_probe_messages_published_total", 42, true},
		{"meshhealth_up", 1, true},
		{"meshhealth_missing", 0, false},
	} {
		got, found := Sum(exp, tc.name)
		if got != tc.want || found != tc.found {
			t.Errorf("Sum(%s) = %g, %v; want %g, %v", tc.name, got, found, tc.want, tc.found)
		}
	}
}
