package recovery

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/metrics"
)

// tickPeriod is how often the driver ticks the core and reads the failing
// checks' results while a recovery is under way.
const tickPeriod = 100 * time.Millisecond

// Step is one repair the node can try, bounded by its context.
type Step struct {
	Name string
	Run  func(ctx context.Context) error
}

// Checks is what the driver needs of the health manager.
type Checks interface {
	// Trigger runs the named check soon.
	Trigger(name string)
	// LastResult is the named check's latest result: when it was taken
	// and whether it passed (ok false: no result yet).
	LastResult(name string) (at time.Time, passing, ok bool)
}

// Exiter takes a failure that recovery could not repair: the shutdown
// manager (health.CriticalHandler's shape). It returns false when it
// declined to stop the node (the restart-loop guard).
type Exiter interface {
	HandleCritical(reason string) (stopping bool)
}

// Options are the driver's parts.
type Options struct {
	Steps  []Step
	Checks Checks
	Exit   Exiter
	// Own says whether the evidence says a failure of the named check is
	// this node's own fault (nil: never, so every failure exits at once).
	Own func(check string) bool
	// Publish is told of each change of the recovery under way (nil when
	// none is) and of the history, for /health.
	Publish func(cur *Current, history []Record)
}

// Driver is the critical handler that recovers first: the edge around
// Core.
type Driver struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	metrics *driverMetrics

	mu       sync.Mutex
	core     *Core
	seen     map[string]time.Time // the last result read of each check
	cancel   context.CancelFunc   // the step under way
	waiters  []chan bool          // HandleCritical calls waiting for the end
	running  bool                 // the tick loop runs
	stopping bool
	closed   chan struct{}
}

// NewDriver builds a driver; reg receives its metrics.
func NewDriver(cfg Config, opts Options, reg prometheus.Registerer, log *slog.Logger) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	names := make([]string, len(opts.Steps))
	for i, s := range opts.Steps {
		names[i] = s.Name
	}
	m, err := newDriverMetrics(reg, names)
	if err != nil {
		return nil, err
	}
	return &Driver{opts: opts, log: log, now: time.Now, metrics: m, core: NewCore(cfg, names),
		seen: map[string]time.Time{}, closed: make(chan struct{})}, nil
}

// HandleCritical is the health manager's hand-off (health.CriticalHandler).
// It blocks until the failure is repaired (true: handled, nothing to
// decline) or handed to the exiter (its answer); the health manager calls
// it in a goroutine of its own. A second check failing during a recovery
// joins it.
func (d *Driver) HandleCritical(reason string) (stopping bool) {
	check := CheckOf(reason)
	own := d.opts.Own != nil && d.opts.Own(check)
	done := make(chan bool, 1)
	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		return d.opts.Exit.HandleCritical(reason)
	}
	d.waiters = append(d.waiters, done)
	d.core.Fail(d.now(), check, reason, own)
	d.applyLocked()
	if !d.running && d.core.Current() != nil {
		d.running = true
		go d.loop()
	}
	d.mu.Unlock()
	return <-done
}

// Close ends a recovery under way (the node stops for another reason):
// waiting hand-offs return true, as the node is stopping anyway.
func (d *Driver) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return
	}
	d.stopping = true
	close(d.closed)
	d.core.Stopping(d.now())
	d.applyLocked()
}

func (d *Driver) loop() {
	t := time.NewTicker(tickPeriod)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-d.closed:
		}
		d.mu.Lock()
		now := d.now()
		d.readResultsLocked(now)
		d.core.Tick(now)
		d.applyLocked()
		if d.core.Current() == nil {
			d.running = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
}

// readResultsLocked feeds the core each new result of the checks under
// recovery.
func (d *Driver) readResultsLocked(now time.Time) {
	cur := d.core.Current()
	if cur == nil {
		return
	}
	for _, name := range cur.Checks {
		at, passing, ok := d.opts.Checks.LastResult(name)
		if !ok || !at.After(d.seen[name]) {
			continue
		}
		d.seen[name] = at
		d.core.Result(now, name, passing, at)
	}
}

// applyLocked acts on what the core decided.
func (d *Driver) applyLocked() {
	r := d.core.Ready()
	for _, o := range r.Run {
		d.runLocked(o)
	}
	for _, name := range r.Rerun {
		d.opts.Checks.Trigger(name)
	}
	for _, rec := range r.Ended {
		if d.cancel != nil {
			d.cancel()
			d.cancel = nil
		}
		for _, c := range rec.Checks {
			d.metrics.recoveries.WithLabelValues(c, string(rec.Outcome)).Inc()
		}
		switch rec.Outcome {
		case Recovered:
			d.log.Warn("recovered from a critical failure", "checks", strings.Join(rec.Checks, ","),
				"fixed_by", rec.FixedBy, "steps", len(rec.Steps), "took", time.Duration(rec.Seconds*float64(time.Second)).Round(time.Millisecond))
		case Exhausted:
			d.log.Error("recovery budget spent; the critical failure stands", "checks", strings.Join(rec.Checks, ","),
				"steps", len(rec.Steps), "reason", rec.Reason)
		case NotOwn:
			d.log.Info("critical failure not this node's own fault: no recovery", "reason", rec.Reason)
		}
	}
	if r.Exit != "" {
		reason := r.Exit
		waiters := d.waiters
		d.waiters = nil
		// Not under d.mu: the shutdown it starts closes the driver.
		go func() {
			stopping := d.opts.Exit.HandleCritical(reason)
			for _, w := range waiters {
				w <- stopping
			}
		}()
	} else if len(r.Ended) > 0 && d.core.Current() == nil {
		for _, w := range d.waiters {
			w <- true
		}
		d.waiters = nil
	}
	if r.Changed && d.opts.Publish != nil {
		d.opts.Publish(d.core.Current(), d.core.History())
	}
}

// runLocked starts one step under its deadline; its end goes back to the
// core.
func (d *Driver) runLocked(o Order) {
	var step Step
	for _, s := range d.opts.Steps {
		if s.Name == o.Step {
			step = s
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), o.Deadline)
	d.cancel = cancel
	d.log.Info("recovery step", "step", o.Step)
	go func() {
		start := d.now()
		err := step.Run(ctx)
		cancel()
		end := d.now()
		d.metrics.stepSeconds.WithLabelValues(o.Step).Observe(end.Sub(start).Seconds())
		if err != nil {
			d.log.Debug("recovery step failed", "step", o.Step, "err", err)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.core.StepDone(end, o.Step, err)
		d.applyLocked()
	}()
}

// CheckOf is the check a critical failure's reason names: the health
// manager words it "critical check NAME: message".
func CheckOf(reason string) string {
	rest, ok := strings.CutPrefix(reason, "critical check ")
	if !ok {
		return reason
	}
	name, _, _ := strings.Cut(rest, ":")
	return name
}

type driverMetrics struct {
	recoveries  *prometheus.CounterVec
	stepSeconds *prometheus.HistogramVec
}

func newDriverMetrics(reg prometheus.Registerer, steps []string) (*driverMetrics, error) {
	m := &driverMetrics{
		recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshhealth_recoveries_total",
			Help: "Recoveries from a confirmed critical failure, by check and outcome (recovered, exhausted: exit 3, not_own: exit 3 without trying, stopped).",
		}, []string{"check", "outcome"}),
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meshhealth_recovery_step_seconds",
			Help:    "How long each recovery step took, by step.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10},
		}, []string{"step"}),
	}
	for _, s := range steps {
		m.stepSeconds.WithLabelValues(s)
	}
	if err := metrics.Register(reg, m.recoveries, m.stepSeconds); err != nil {
		return nil, fmt.Errorf("recovery metrics: %w", err)
	}
	return m, nil
}

// Current is the recovery under way, or nil.
func (d *Driver) Current() *Current {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.core.Current()
}
