package health

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	regmetrics "github.com/meshhealth/meshhealth/internal/metrics"
	"github.com/meshhealth/meshhealth/pkg/status"
)

// metrics are the health manager's Prometheus series. They are set when a
// snapshot is published, so a scrape reads values and never waits for a
// check.
type metrics struct {
	status         *prometheus.GaugeVec
	systemScore    prometheus.Gauge
	componentScore *prometheus.GaugeVec
	checkScore     *prometheus.GaugeVec
	checkFailing   *prometheus.GaugeVec
	consecFailures *prometheus.GaugeVec
	checksTotal    *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	transitions    *prometheus.CounterVec
	suppressed     prometheus.Gauge
	buildInfo      *prometheus.GaugeVec
	stalls         prometheus.Counter
	eventsDropped  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, cfg Config) (*metrics, error) {
	const ns = "meshhealth"
	m := &metrics{
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "health_status",
			Help: "Overall health status of the node: 1 for the current status, 0 for the others."}, []string{"status"}),
		systemScore: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "system_health_score",
			Help: "Weighted mean of the component health scores, 0 to 1."}),
		componentScore: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "component_health_score",
			Help: "Mean score of a component's enabled checks, 0 to 1."}, []string{"component"}),
		checkScore: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "check_score",
			Help: "Score of a check over its recent results (success rate x latency factor; 0 while failing)."}, []string{"check"}),
		checkFailing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "check_failing",
			Help: "1 while a check's effective (debounced, or stale) state is failing."}, []string{"check"}),
		consecFailures: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "check_consecutive_failures",
			Help: "Consecutive failed runs of a check counted toward its failure threshold."}, []string{"check"}),
		checksTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "checks_total",
			Help: "Check runs by result: success, failure, timeout, panic, or local_stall (failed while this process was stalled; not counted against the check)."},
			[]string{"check", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "check_duration_seconds",
			Help:    "Latency of check runs.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"check"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "status_transitions_total",
			Help: "Changes of the overall health status, by the status changed to."}, []string{"to"}),
		suppressed: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "shutdown_suppressed",
			Help: "1 while a critical failure did not stop the node because of the restart-loop guard."}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
			Help: "Always 1; labels carry the node's version and Go version."}, []string{"version", "go_version"}),
		stalls: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "scheduler_stalls_total",
			Help: "Times the health scheduler ticked later than the local stall threshold (Lifeguard)."}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "health_events_dropped_total",
			Help: "Transitions not delivered to a listener or event stream that had fallen behind."}),
	}
	if err := regmetrics.Register(reg, m.status, m.systemScore, m.componentScore, m.checkScore, m.checkFailing,
		m.consecFailures, m.checksTotal, m.duration, m.transitions, m.suppressed, m.buildInfo, m.stalls, m.eventsDropped); err != nil {
		return nil, err
	}
	version := cfg.Version
	if version == "" {
		version = "unknown"
	}
	m.buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	for _, s := range status.All() {
		m.status.WithLabelValues(string(s))
		m.transitions.WithLabelValues(string(s))
	}
	for comp := range cfg.Weights {
		m.componentScore.WithLabelValues(comp)
	}
	return m, nil
}

// initCheck creates a check's series so they exist (at 0) before its first
// run: rate() and absent() alerts need them.
func (m *metrics) initCheck(c Check) {
	for _, o := range outcomes {
		m.checksTotal.WithLabelValues(c.Name, o)
	}
	m.duration.WithLabelValues(c.Name)
	m.checkScore.WithLabelValues(c.Name)
	m.checkFailing.WithLabelValues(c.Name)
	m.consecFailures.WithLabelValues(c.Name)
	m.componentScore.WithLabelValues(c.Component)
}

// dropCheck deletes an unregistered check's series, so that no scrape
// shows a check the node no longer has.
func (m *metrics) dropCheck(name string) {
	for _, o := range outcomes {
		m.checksTotal.DeleteLabelValues(name, o)
	}
	m.duration.DeleteLabelValues(name)
	m.checkScore.DeleteLabelValues(name)
	m.checkFailing.DeleteLabelValues(name)
	m.consecFailures.DeleteLabelValues(name)
}

func (m *metrics) observe(check string, s *sample) {
	m.checksTotal.WithLabelValues(check, s.outcome).Inc()
	if !s.synthetic {
		m.duration.WithLabelValues(check).Observe(s.Latency.Seconds())
	}
}

func (m *metrics) setCheck(check string, v CheckView) {
	m.checkScore.WithLabelValues(check).Set(v.Score)
	failing := 0.0
	if v.State == StateFailing {
		failing = 1
	}
	m.checkFailing.WithLabelValues(check).Set(failing)
	m.consecFailures.WithLabelValues(check).Set(float64(v.ConsecutiveFailures))
}

func (m *metrics) setStatus(s Status) {
	for _, st := range status.All() {
		v := 0.0
		if st == s {
			v = 1
		}
		m.status.WithLabelValues(string(st)).Set(v)
	}
}

func (m *metrics) setScores(system float64, components map[string]float64) {
	m.systemScore.Set(system)
	for comp, s := range components {
		m.componentScore.WithLabelValues(comp).Set(s)
	}
}
