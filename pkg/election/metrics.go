package election

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	regmetrics "github.com/meshhealth/meshhealth/internal/metrics"
)

type metrics struct {
	reg           prometheus.Registerer
	collectors    []prometheus.Collector
	term          prometheus.Gauge
	isLeader      prometheus.Gauge
	changes       prometheus.Counter
	members       prometheus.Gauge
	ignored       *prometheus.CounterVec
	candidacies   *prometheus.CounterVec
	stepDowns     *prometheus.CounterVec
	backings      prometheus.Counter
	publishErrors prometheus.Counter
	lastChanges   uint64
}

func newMetrics(reg prometheus.Registerer, state func() State) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "meshhealth", Subsystem: "election", Name: name, Help: help}
	}
	m := &metrics{reg: reg}
	m.term = prometheus.NewGauge(prometheus.GaugeOpts(opts("term", "Term of the leader this node follows (or the highest term seen while it has none).")))
	m.isLeader = prometheus.NewGauge(prometheus.GaugeOpts(opts("is_leader", "1 while this node is the leader.")))
	m.changes = prometheus.NewCounter(prometheus.CounterOpts(opts("leader_changes_total", "Leaderships adopted by this node: a new leader, or a new term.")))
	m.members = prometheus.NewGauge(prometheus.GaugeOpts(opts("members", "Peers heard on the election topic within member_ttl, this node included.")))
	m.ignored = prometheus.NewCounterVec(prometheus.CounterOpts(opts("ignored_total",
		"Valid election messages that changed nothing: a heartbeat or resign from a peer that is not the leader, a stale term, a vote withheld from a candidate while the leader is alive.")),
		[]string{"reason"})
	m.candidacies = prometheus.NewCounterVec(prometheus.CounterOpts(opts("candidacies_total", "Times this node stood for leader, by trigger.")), []string{"trigger"})
	m.stepDowns = prometheus.NewCounterVec(prometheus.CounterOpts(opts("step_downs_total", "Times this node stopped leading, by cause.")), []string{"cause"})
	m.backings = prometheus.NewCounter(prometheus.CounterOpts(opts("backings_total", "Times this node, without a leader, followed a live leader it heard before counting its majority, instead of standing.")))
	m.publishErrors = prometheus.NewCounter(prometheus.CounterOpts(opts("publish_errors_total", "Election messages this node failed to publish.")))
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("heartbeat_age_seconds",
		"Seconds since the last heartbeat of a leader was counted (sent, on the leader); since start before the first.")),
		func() float64 { return state().HeartbeatAge.Seconds() })
	m.collectors = []prometheus.Collector{m.term, m.isLeader, m.changes, m.members, m.ignored, m.candidacies, m.stepDowns, m.backings, m.publishErrors, age}
	if err := regmetrics.Register(reg, m.collectors...); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return nil, fmt.Errorf("election: metrics already registered on this registry (one election per node): %w", err)
		}
		return nil, fmt.Errorf("election: register metrics: %w", err)
	}
	return m, nil
}

func (m *metrics) event(ev event) {
	switch ev.kind {
	case eventIgnored:
		m.ignored.WithLabelValues(ev.reason).Inc()
	case eventCandidacy:
		m.candidacies.WithLabelValues(ev.reason).Inc()
	case eventStepDown:
		m.stepDowns.WithLabelValues(ev.reason).Inc()
	case eventBacked:
		m.backings.Inc()
	}
}

func (m *metrics) observe(st State) {
	m.term.Set(float64(st.Term))
	if st.IsLeader {
		m.isLeader.Set(1)
	} else {
		m.isLeader.Set(0)
	}
	m.members.Set(float64(st.Members))
	if st.ChangesTotal > m.lastChanges {
		m.changes.Add(float64(st.ChangesTotal - m.lastChanges))
		m.lastChanges = st.ChangesTotal
	}
}

// unregister removes the collectors, so a node rebuilt in the same process
// (tests, restarts in testnet's in-process mode) can register again.
func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
