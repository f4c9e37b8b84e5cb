package wire

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/metrics"
)

// Metrics holds the counters the validators share: one vector for every
// topic of a node, so it is created once per registry.
type Metrics struct {
	rejected *prometheus.CounterVec
}

// NewMetrics registers meshhealth_pubsub_rejected_total on reg. Calling it
// again with the same registry returns a Metrics over the counter already
// registered, so two components that each ask for it cannot collide. A nil
// reg gives working, unexported counters (tests, tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "meshhealth",
		Subsystem: "pubsub",
		Name:      "rejected_total",
		Help:      "GossipSub messages rejected by meshhealth validators, by topic and reason.",
	}, []string{"topic", "reason"})
	if reg != nil {
		if err := metrics.Register(reg, vec); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				// Only a conflicting descriptor gets here: a programming
				// error that must surface at start, not a runtime state.
				panic("wire: register meshhealth_pubsub_rejected_total: " + err.Error())
			}
			vec = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &Metrics{rejected: vec}
}

// Rejected counts one rejected message. A nil Metrics counts nothing.
func (m *Metrics) Rejected(topic, reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(topic, reason).Inc()
}

// Collector exposes the vector, for tests and for registries built later.
func (m *Metrics) Collector() *prometheus.CounterVec { return m.rejected }
