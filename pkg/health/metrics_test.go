package health

import (
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

func TestMetricsPassPromlint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reg := newManager(t, testConfig())
		mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Critical: true, Checker: newToggle(true).check})
		start(t, m)
		defer m.Stop()
		synctest.Wait()
		testkit.Lint(t, reg)
		n, err := testutil.GatherAndCount(reg)
		if err != nil || n < 20 {
			t.Errorf("gathered %d series (%v): the lint saw too little", n, err)
		}
	})
}

func TestMetricsFollowTheSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reg := newManager(t, testConfig())
		tg := newToggle(false)
		mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Critical: true, Interval: 5 * time.Second,
			Timeout: time.Second, Checker: tg.check})
		start(t, m)
		defer m.Stop()
		advance(2 * time.Second) // three failures: failing
		want := `
# HELP meshhealth_health_status Overall health status of the node: 1 for the current status, 0 for the others.
# TYPE meshhealth_health_status gauge
meshhealth_health_status{status="degraded"} 0
meshhealth_health_status{status="healthy"} 0
meshhealth_health_status{status="starting"} 0
meshhealth_health_status{status="stopping"} 0
meshhealth_health_status{status="unhealthy"} 1
# HELP meshhealth_check_consecutive_failures Consecutive failed runs of a check counted toward its failure threshold.
# TYPE meshhealth_check_consecutive_failures gauge
meshhealth_check_consecutive_failures{check="p2p-connectivity"} 3
# HELP meshhealth_check_failing 1 while a check's effective (debounced, or stale) state is failing.
# TYPE meshhealth_check_failing gauge
meshhealth_check_failing{check="p2p-connectivity"} 1
# HELP meshhealth_system_health_score Weighted mean of the component health scores, 0 to 1.
# TYPE meshhealth_system_health_score gauge
meshhealth_system_health_score 0.75
# HELP meshhealth_build_info Always 1; labels carry the node's version and Go version.
# TYPE meshhealth_build_info gauge
meshhealth_build_info{go_version="` + runtime.Version() + `",version="v-test"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "meshhealth_health_status",
			"meshhealth_check_consecutive_failures", "meshhealth_check_failing", "meshhealth_system_health_score",
			"meshhealth_build_info"); err != nil {
			t.Error(err)
		}
		if got := testutil.ToFloat64(m.metrics.checksTotal.WithLabelValues("p2p-connectivity", "failure")); got != 3 {
			t.Errorf("checks_total{result=failure} = %v, want 3", got)
		}
	})
}

func TestTwoManagersCannotShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewManager(testConfig(), nil, reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := NewManager(testConfig(), nil, reg, nil); err == nil {
		t.Fatal("second manager on the same registry: want a registration error")
	}
}
