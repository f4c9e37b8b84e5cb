package shutdown

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	regmetrics "github.com/meshhealth/meshhealth/internal/metrics"
)

// metrics are the manager's Prometheus series. They tell an operator, from
// the last scrape before the node went away, why it was stopping and which
// step held it up.
type metrics struct {
	inProgress   prometheus.Gauge
	exitCode     prometheus.Gauge
	reason       *prometheus.GaugeVec
	duration     prometheus.Gauge
	stepDuration *prometheus.GaugeVec
	steps        *prometheus.CounterVec
	critical     *prometheus.CounterVec
	forced       prometheus.Counter
	guardErrors  prometheus.Counter
}

// newMetrics registers the series on reg (nil: a private registry nobody
// scrapes). A registration error is logged, not fatal: losing a metric must
// never stop the node from stopping.
func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshhealth_shutdown_in_progress",
			Help: "1 from the start of a graceful shutdown until its last phase has run.",
		}),
		exitCode: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshhealth_shutdown_exit_code",
			Help: "Exit code of the shutdown under way or done; -1 while no shutdown has begun.",
		}),
		reason: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshhealth_shutdown_reason_info",
			Help: "1 for the reason of the shutdown under way or done (the first trigger).",
		}, []string{"reason"}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshhealth_shutdown_duration_seconds",
			Help: "How long the whole shutdown took, set when it is done.",
		}),
		stepDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshhealth_shutdown_step_duration_seconds",
			Help: "How long each shutdown hook or component stop took (up to its timeout).",
		}, []string{"phase", "kind", "step"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshhealth_shutdown_steps_total",
			Help: "Shutdown hooks and component stops by result (ok, error, timeout, skipped).",
		}, []string{"result"}),
		critical: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshhealth_shutdown_critical_requests_total",
			Help: "Critical-failure shutdown requests by outcome (accepted, suppressed by the restart-loop guard, already_stopping).",
		}, []string{"outcome"}),
		forced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshhealth_shutdown_forced_total",
			Help: "Second signals that forced an immediate exit.",
		}),
		guardErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshhealth_shutdown_guard_errors_total",
			Help: "Times the restart-loop guard could not read or record its history, or found it corrupt; each suppresses the critical shutdown at hand (the guard fails closed).",
		}),
	}
	m.exitCode.Set(-1)
	for _, r := range []string{"ok", "error", "timeout", "skipped"} {
		m.steps.WithLabelValues(r)
	}
	for _, o := range []string{"accepted", "suppressed", "already_stopping"} {
		m.critical.WithLabelValues(o)
	}
	// Stopping must work without its metrics: a failure is logged, not returned.
	if err := regmetrics.Register(reg, m.inProgress, m.exitCode, m.reason, m.duration, m.stepDuration, m.steps, m.critical, m.forced, m.guardErrors); err != nil {
		log.Warn("shutdown metrics not registered", "err", err)
	}
	return m
}

func (m *metrics) started(reason string, code int) {
	m.inProgress.Set(1)
	m.exitCode.Set(float64(code))
	m.reason.WithLabelValues(reason).Set(1)
}

func (m *metrics) step(r StepReport) {
	m.steps.WithLabelValues(r.result()).Inc()
	if !r.Skipped {
		m.stepDuration.WithLabelValues(string(r.Phase), r.Kind, r.Name).Set(r.Duration.Seconds())
	}
}

func (m *metrics) finished(d time.Duration) {
	m.duration.Set(d.Seconds())
	m.inProgress.Set(0)
}
