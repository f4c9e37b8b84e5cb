package shutdown

import (
	"context"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// (prometheus/testutil itself is out of reach: it needs a module that is
// not in go.sum. promlint is not.)

// sample is the value of the series name{labels} in reg, and whether it
// exists.
func sample(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if !maps.Equal(got, labels) {
				continue
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func TestMetricsExportReasonCodeProgressAndDurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		release := make(chan struct{})
		f.component("http", 0, func(context.Context) error { <-release; return nil })

		type series struct {
			name   string
			labels map[string]string
			want   float64
		}
		expect := func(when string, ss ...series) {
			t.Helper()
			for _, s := range ss {
				got, ok := sample(t, f.reg, s.name, s.labels)
				if !ok || got != s.want {
					t.Errorf("%s: %s%v = %v (present %v), want %v", when, s.name, s.labels, got, ok, s.want)
				}
			}
		}
		expect("before shutdown",
			series{"meshhealth_shutdown_exit_code", nil, -1},
			series{"meshhealth_shutdown_in_progress", nil, 0},
		)

		reason := "critical check dht-integrity: no remote answer"
		f.m.HandleCritical(reason)
		synctest.Wait()
		expect("during shutdown",
			series{"meshhealth_shutdown_exit_code", nil, 3},
			series{"meshhealth_shutdown_in_progress", nil, 1},
			series{"meshhealth_shutdown_reason_info", map[string]string{"reason": reason}, 1},
			series{"meshhealth_shutdown_critical_requests_total", map[string]string{"outcome": "accepted"}, 1},
		)

		time.Sleep(1500 * time.Millisecond) // on the bubble's fake clock: the stop takes 1.5s
		close(release)
		<-f.m.Done()
		expect("after shutdown",
			series{"meshhealth_shutdown_exit_code", nil, 3},
			series{"meshhealth_shutdown_in_progress", nil, 0},
			series{"meshhealth_shutdown_duration_seconds", nil, 1.5},
			series{"meshhealth_shutdown_step_duration_seconds", map[string]string{"phase": "shutdown", "kind": "component", "step": "http"}, 1.5},
			series{"meshhealth_shutdown_steps_total", map[string]string{"result": "ok"}, 1},
		)
	})
}

func TestMetricsPassPromlint(t *testing.T) {
	f := newFixture(t, Config{})
	f.component("http", 0, func(context.Context) error { return nil })
	f.m.Shutdown("test", ExitOK)
	waitDone(t, f.m)
	testkit.Lint(t, f.reg)
}
