package summary

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

func TestSummaryMetricsAreLintClean(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(&fakeTopic{}, newID(t), healthyValues, Config{}, reg, nil); err != nil {
		t.Fatal(err)
	}
	if names := testkit.Lint(t, reg); len(names) != 3 {
		t.Fatalf("%d metric families %v, want 3", len(names), names)
	}
}
