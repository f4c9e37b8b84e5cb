package shutdown

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GuardFile is the restart-loop guard's history, inside Config.DataDir.
const GuardFile = "shutdown-history.json"

// Manager runs a node's graceful shutdown. It is safe for concurrent use.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	guard   *guard

	mu        sync.Mutex
	stop      func(ctx context.Context) error // the components' stop (StopWith)
	stopTaken bool
	hooks     map[Phase][]step
	taken     map[Phase]bool // hooks of this phase handed to the run
	stopping  bool
	deadline  time.Time // the total timeout's end, once stopping
	reason    string
	code      int
	reports   []StepReport
	done      chan struct{}
}

// New returns a Manager. reg may be nil (no metrics exported) and log may be
// nil (silent).
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) *Manager {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	met := newMetrics(reg, log)
	g := &guard{max: cfg.GuardMax, window: cfg.GuardWindow, now: cfg.Now, log: log, failed: met.guardErrors.Inc}
	if cfg.DataDir != "" {
		g.path = filepath.Join(cfg.DataDir, GuardFile)
	}
	return &Manager{
		cfg:     cfg,
		log:     log,
		metrics: met,
		guard:   g,
		hooks:   map[Phase][]step{},
		taken:   map[Phase]bool{},
		done:    make(chan struct{}),
	}
}

// CheckGuard makes sure the restart-loop guard can keep count: it reads
// its history (a corrupt one is set aside and counted as the limit) and
// writes it back. The node calls it at start and refuses to run when it
// fails, since a guard that cannot record cannot stop a restart loop.
func (m *Manager) CheckGuard() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.guard.check()
}

// StopWith sets how the components stop: the shutdown phase calls stop
// after its own hooks (the node passes its fx app's Stop, which stops the
// components in the reverse of their start order). stop is given a context
// that ends a moment after the total timeout; the components' stops keep
// to it themselves (see Step), so past it the rest are reported skipped.
// Set it once, before any shutdown: one set after the shutdown phase has
// begun is never called, and is reported as skipped.
func (m *Manager) StopWith(stop func(ctx context.Context) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case stop == nil:
		m.log.Warn("shutdown: StopWith without a function ignored")
	case m.stopTaken:
		m.late(step{phase: PhaseShutdown, kind: KindComponent, name: "components"})
	default:
		m.stop = stop
	}
}

// Step wraps one component's stop for the lifecycle that stops it
// (fx.Hook.OnStop). The returned function runs stop at most once, under
// timeout (0 means DefaultStepTimeout) and within what is left of the
// shutdown's total timeout, abandons it when it overruns, turns a panic
// into an error, and logs, reports and measures it as a component step of
// the shutdown phase. Past the total timeout it skips stop and reports it
// skipped. Called outside a shutdown (fx undoing a failed start), it is
// bounded by its timeout and the caller's deadline alone.
func (m *Manager) Step(name string, timeout time.Duration, stop func(ctx context.Context) error) func(ctx context.Context) error {
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	s := step{phase: PhaseShutdown, kind: KindComponent, name: name, timeout: timeout, fn: stop}
	var once sync.Once
	return func(ctx context.Context) error {
		var err error
		once.Do(func() {
			r := s.run(m.stepDeadline(ctx, timeout))
			m.record(r)
			err = r.Err
		})
		return err
	}
}

// stepDeadline is the bound a component's stop runs within: the shutdown's
// total deadline, or outside a shutdown the caller's deadline, if any.
func (m *Manager) stepDeadline(ctx context.Context, timeout time.Duration) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping {
		return m.deadline
	}
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(timeout)
}

// AddHook adds fn to run in phase p, after the hooks already added to it.
// Each hook runs under Config.HookTimeout. A hook added once its phase has
// begun never runs, and is reported as skipped.
func (m *Manager) AddHook(p Phase, name string, fn func(ctx context.Context) error) {
	s := step{phase: p, kind: KindHook, name: name, timeout: m.cfg.HookTimeout, fn: fn}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case !slices.Contains(phases, p):
		m.log.Warn("shutdown: hook for an unknown phase ignored", "hook", name, "phase", p)
	case fn == nil:
		m.log.Warn("shutdown: hook without a function ignored", "hook", name, "phase", p)
	case m.taken[p]:
		m.late(s)
	default:
		m.hooks[p] = append(m.hooks[p], s)
	}
}

// late records a step that arrived after its turn. Callers hold m.mu.
func (m *Manager) late(s step) {
	r := StepReport{Phase: s.phase, Kind: s.kind, Name: s.name, Skipped: true, Err: ErrLate}
	m.log.Warn("shutdown: "+r.String(), "phase", s.phase)
	m.reports = append(m.reports, r)
	m.metrics.step(r)
}

// Shutdown starts the shutdown with reason and exit code, and returns at
// once; Done and Wait tell when it is over. Only the first call counts: it
// returns true, and every later one returns false and changes nothing.
func (m *Manager) Shutdown(reason string, code int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.startLocked(reason, code)
}

// HandleCritical is the health manager's hand-off for a confirmed critical
// failure (health.CriticalHandler). It shuts the node down with ExitCritical
// and returns true, unless the restart-loop guard has seen GuardMax
// health-triggered shutdowns within GuardWindow: then it logs
// "shutdown suppressed: restart loop" and returns false, and the node stays
// up. It does the same when the guard cannot read or record its history
// ("shutdown suppressed: restart-loop guard cannot keep count"): the guard
// fails closed, so a broken history cannot let a restart loop spin. If a shutdown is already under way it returns true and changes nothing
// (the first reason wins, and it is not counted as health-triggered).
func (m *Manager) HandleCritical(reason string) (stopping bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping {
		m.log.Info("critical failure during shutdown; first reason stands",
			"critical", reason, "reason", m.reason, "exit_code", m.code)
		m.metrics.critical.WithLabelValues("already_stopping").Inc()
		return true
	}
	if ok, recent, why := m.guard.admit(reason); !ok {
		m.log.Error("shutdown suppressed: "+why, "reason", reason,
			"recent_shutdowns", recent, "window", m.cfg.GuardWindow)
		m.metrics.critical.WithLabelValues("suppressed").Inc()
		return false
	}
	m.metrics.critical.WithLabelValues("accepted").Inc()
	return m.startLocked(reason, ExitCritical)
}

// startLocked starts the shutdown if none is under way. Callers hold m.mu.
func (m *Manager) startLocked(reason string, code int) bool {
	if m.stopping {
		m.log.Debug("shutdown already under way; reason ignored",
			"ignored_reason", reason, "ignored_code", code, "reason", m.reason, "exit_code", m.code)
		return false
	}
	begin := time.Now()
	m.stopping, m.reason, m.code = true, reason, code
	m.deadline = begin.Add(m.cfg.Timeout)
	m.log.Info("shutting down", "reason", reason, "exit_code", code, "timeout", m.cfg.Timeout)
	m.metrics.started(reason, code)
	go m.run(begin, m.deadline)
	return true
}

// run is the shutdown itself: every phase in order, under one deadline.
func (m *Manager) run(begin, deadline time.Time) {
	for _, p := range phases {
		for _, s := range m.takeHooks(p) {
			m.record(s.run(deadline))
		}
		if p == PhaseShutdown {
			m.stopComponents(deadline)
		}
	}
	elapsed := time.Since(begin)
	m.metrics.finished(elapsed)

	m.mu.Lock()
	var failed int
	for _, r := range m.reports {
		if !r.OK() {
			failed++
		}
	}
	reason, code := m.reason, m.code
	m.mu.Unlock()
	m.log.Info("shutdown complete", "reason", reason, "exit_code", code,
		"duration", elapsed, "steps_not_ok", failed)
	close(m.done)
}

func (m *Manager) takeHooks(p Phase) []step {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.taken[p] = true
	return m.hooks[p]
}

// stopGrace is how long past the total deadline the components' stop may
// take to return: long enough for the stops not yet run to report
// themselves skipped, which they do at once.
const stopGrace = 250 * time.Millisecond

// stopComponents calls the function given to StopWith, if any, and waits
// for it until a moment past the deadline.
func (m *Manager) stopComponents(deadline time.Time) {
	m.mu.Lock()
	stop := m.stop
	m.stopTaken = true
	m.mu.Unlock()
	if stop == nil {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(stopGrace))
	defer cancel()
	// Buffered, so an abandoned stop can still finish and exit.
	done := make(chan error, 1)
	go func() { done <- call(ctx, stop) }()
	select {
	case err := <-done:
		// Each component's error is already logged and reported by its Step.
		if err != nil {
			m.log.Debug("shutdown: components stopped with errors", "err", err)
		}
	case <-ctx.Done():
		m.log.Warn("shutdown: components still stopping after the shutdown timeout; not waiting for them")
	}
}

func (m *Manager) record(r StepReport) {
	if r.OK() {
		m.log.Debug("shutdown: "+r.String(), "phase", r.Phase)
	} else {
		m.log.Warn("shutdown: "+r.String(), "phase", r.Phase)
	}
	m.metrics.step(r)
	m.mu.Lock()
	m.reports = append(m.reports, r)
	m.mu.Unlock()
}

// Done is closed when every phase has run, or the total timeout has passed.
func (m *Manager) Done() <-chan struct{} { return m.done }

// Wait blocks until Done, then returns the exit code and reason of the
// shutdown: those of the first trigger.
func (m *Manager) Wait() (code int, reason string) {
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.code, m.reason
}

// Report returns what has run so far, in order: each step, how long it took,
// its error, and whether it timed out or was skipped.
func (m *Manager) Report() []StepReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reports)
}
