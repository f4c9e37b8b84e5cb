package summary

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestSummaryMetricsAreLintClean(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(&fakeTopic{}, newID(t), healthyValues, Config{}, reg, nil); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if len(mfs) != 3 {
		t.Fatalf("%d metric families, want 3", len(mfs))
	}
}
