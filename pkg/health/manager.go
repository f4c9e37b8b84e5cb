package health

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

// Manager is the edge around the health core: it keeps the registry of
// names, runs the scheduler, the watchdog and the checkers as goroutines,
// serves HTTP and metrics, and feeds every event to the core under one
// mutex, then acts on the core's ready (publish, count, log, hand off).
// What stays outside the mutex is what must answer while the scheduler is
// stuck or while a request is served: the published snapshot, the
// liveness tick, Trigger.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	epoch   time.Time            // base of lastTick's monotonic nanoseconds
	own     *awareness.Awareness // built, started and stopped here when none was given

	mu           sync.Mutex
	core         *core // every decision; guarded by mu
	cancel       context.CancelFunc
	handler      CriticalHandler
	stallRelease chan struct{} // ends the current StallFor; guarded by mu

	// Read without the lock: Trigger, readers of the snapshot, and
	// liveness, which must answer while the scheduler is stuck.
	triggers atomic.Pointer[map[string]*atomic.Bool] // copy-on-write; set by Trigger, taken by the scheduler
	snap     atomic.Pointer[Snapshot]
	lastTick atomic.Int64 // mono ns of the scheduler's last tick
	phase    atomic.Int32 // phaseNew, phaseRunning or phaseStopped

	stallReq     chan stallRequest
	wake         chan struct{}
	hub          *hub
	bootID       string        // prefix of event IDs, new in each process
	openStreams  atomic.Int64  // /health/events streams being served
	streamsDone  chan struct{} // closed by CloseStreams
	closeStreams sync.Once
	wg           sync.WaitGroup // scheduler, watchdog, and runs not abandoned
}

// Phases of a Manager, for liveness.
const (
	phaseNew int32 = iota
	phaseRunning
	phaseStopped
)

// NewManager builds a manager with no checks. self is this process's
// awareness, which decides whether a failure was this process's own stall
// or starvation; nil builds one that the manager starts and stops with
// itself (a manager used alone). reg receives the health metrics (nil: a
// private registry); log may be nil (quiet).
func NewManager(cfg Config, self *awareness.Awareness, reg prometheus.Registerer, log *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("health config: %w", err)
	}
	cfg.Weights = maps.Clone(cfg.Weights)
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	met, err := newMetrics(reg, cfg)
	if err != nil {
		return nil, fmt.Errorf("health metrics: %w", err)
	}
	var own *awareness.Awareness
	if self == nil {
		if own, err = awareness.New(awareness.Config{}, reg, log); err != nil {
			return nil, err
		}
		self = own
	}
	m := &Manager{
		cfg:         cfg,
		log:         log,
		metrics:     met,
		epoch:       time.Now(),
		own:         own,
		core:        newCore(cfg, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), self),
		stallReq:    make(chan stallRequest, 1),
		wake:        make(chan struct{}, 1),
		hub:         newHub(met.eventsDropped),
		bootID:      newBootID(),
		streamsDone: make(chan struct{}),
	}
	empty := map[string]*atomic.Bool{}
	m.triggers.Store(&empty)
	m.mu.Lock()
	m.core.refresh(time.Now())
	m.applyLocked()
	m.mu.Unlock()
	return m, nil
}

// mono converts t to nanoseconds since the manager was built, on the
// monotonic clock, so that it fits an atomic.
func (m *Manager) mono(t time.Time) int64 { return int64(t.Sub(m.epoch)) }

// Register adds a check, filling its zero fields with the defaults (its
// thresholds with Config.Debounce). Checks may be registered before or
// after Start.
func (m *Manager) Register(c Check) error {
	c = withDefaults(c, m.cfg.Debounce)
	if err := validateCheck(c); err != nil {
		return fmt.Errorf("register check %q: %w", c.Name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.core.register(c, time.Now()); err != nil {
		return fmt.Errorf("register check %q: %w", c.Name, err)
	}
	next := maps.Clone(*m.triggers.Load())
	next[c.Name] = new(atomic.Bool)
	m.triggers.Store(&next)
	m.metrics.initCheck(c)
	m.applyLocked()
	m.poke()
	return nil
}

// Unregister removes the named check at once: the snapshot published on
// return no longer has it (/health, the scores, the status), and its
// Prometheus series are gone. A run of it under way is left to end and its
// result ignored. A check of the same name may be registered again.
func (m *Manager) Unregister(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.core.byName[name]
	if !ok {
		return fmt.Errorf("unregister check %q: no check with this name is registered", name)
	}
	comp := c.def.Component
	if err := m.core.unregister(name, time.Now()); err != nil {
		return fmt.Errorf("unregister check %q: %w", name, err)
	}
	next := maps.Clone(*m.triggers.Load())
	delete(next, name)
	m.triggers.Store(&next)
	m.metrics.dropCheck(name)
	if _, weighted := m.core.weights[comp]; !weighted {
		m.metrics.componentScore.DeleteLabelValues(comp)
	}
	m.applyLocked()
	m.log.Debug("health check unregistered", "check", name)
	return nil
}

// Start starts the scheduler and the watchdog; the first run of every check
// is due at once. ctx only bounds the call: the goroutines run until Stop
// (so an fx start context, which expires, can be passed as is).
func (m *Manager) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start health manager: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.own != nil && !m.core.started && !m.core.stopped {
		if err := m.own.Start(ctx); err != nil {
			return fmt.Errorf("start health manager: %w", err)
		}
	}
	now := time.Now()
	if err := m.core.start(now); err != nil {
		return fmt.Errorf("start health manager: %w", err)
	}
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.lastTick.Store(m.mono(now))
	m.phase.Store(phaseRunning)
	m.wg.Add(2)
	go m.loop(base)
	go m.watchdog(base)
	m.applyLocked()
	m.log.Info("health manager started", "checks", len(m.core.checks), "startup_grace", m.cfg.StartupGrace)
	return nil
}

// Stop stops the scheduler, the watchdog and the listeners, cancels running
// checks and waits for them. A checker that ignores its context is not waited
// for: it is abandoned (at most abandonGrace after the cancel). Stop is
// idempotent.
func (m *Manager) Stop() {
	m.mu.Lock()
	if m.core.stopped {
		m.mu.Unlock()
		return
	}
	m.core.stop()
	cancel := m.cancel
	m.mu.Unlock()
	m.phase.CompareAndSwap(phaseRunning, phaseStopped)
	if cancel != nil {
		cancel()
	}
	m.hub.close()
	m.wg.Wait()
	if m.own != nil {
		m.own.Stop()
	}
	m.log.Debug("health manager stopped")
}

// Trigger asks for an early run of the named check. It never blocks;
// triggers that arrive before the run starts are coalesced into one, and a
// trigger during a run makes the check run again as soon as it ends.
func (m *Manager) Trigger(name string) {
	t, ok := (*m.triggers.Load())[name]
	if !ok {
		m.log.Debug("trigger for unknown check ignored", "check", name)
		return
	}
	t.Store(true)
	m.poke()
}

// triggered takes the pending triggers.
func (m *Manager) triggered() []string {
	var names []string
	for name, t := range *m.triggers.Load() {
		if t.Swap(false) {
			names = append(names, name)
		}
	}
	return names
}

// poke wakes the scheduler loop without blocking.
func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Snapshot returns the current published state. It never blocks and never
// returns nil; the value must not be modified.
func (m *Manager) Snapshot() *Snapshot { return m.snap.Load() }

// Status returns the current overall status.
func (m *Manager) Status() Status { return m.Snapshot().Status }

// SetCriticalHandler sets who receives confirmed critical failures (the
// shutdown manager).
func (m *Manager) SetCriticalHandler(h CriticalHandler) {
	m.mu.Lock()
	m.handler = h
	m.mu.Unlock()
}

// SetStopping turns the status to "stopping" at once: readiness and liveness
// answer 503 from now on. The first reason is kept.
func (m *Manager) SetStopping(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.core.setStopping(reason, time.Now())
	m.applyLocked()
}

// SetLeader records the mesh's current leader and term for /health and
// /health/summary.
func (m *Manager) SetLeader(peerID string, term uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.core.setLeader(peerID, term, time.Now())
	m.applyLocked()
}

// SetKeyMetric sets one entry of /health/summary's key_metrics
// (connected_peers, leadership_changes, resource_utilization, ...). v is
// encoded to JSON at once, so the caller may reuse it afterwards; a value
// JSON cannot encode is replaced by an error string.
func (m *Manager) SetKeyMetric(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		m.log.Warn("key metric cannot be encoded as JSON", "metric", name, "err", err)
		b, _ = json.Marshal("unencodable: " + err.Error())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.core.setKeyMetric(name, b, time.Now())
	m.applyLocked()
}

// LastTickAge is how long ago the scheduler last ticked; 0 before Start.
func (m *Manager) LastTickAge() time.Duration {
	if m.phase.Load() == phaseNew {
		return 0
	}
	return time.Duration(m.mono(time.Now()) - m.lastTick.Load())
}

// stalled reports whether the scheduler has missed 3 ticks: the deadlock
// detector behind /health/live.
func (m *Manager) stalled() (bool, time.Duration) {
	if m.phase.Load() != phaseRunning {
		return false, 0
	}
	age := m.LastTickAge()
	return age > 3*m.cfg.TickPeriod, age
}

// applyLocked acts on what the core decided: counts and logs the results
// and stalls, publishes the transitions and the snapshot, starts the runs
// and hands confirmed critical failures off. The runs to start and the
// next wake-up are the scheduler's (loop).
func (m *Manager) applyLocked() ready {
	rd := m.core.ready()
	for _, r := range rd.results {
		m.metrics.observe(r.check, r.s)
		m.log.Debug("health check result", "check", r.check, "healthy", r.s.Healthy, "result", r.s.outcome,
			"message", r.s.Message, "latency", r.s.Latency, "state", r.state, "consecutive_failures", r.fails)
	}
	for _, late := range rd.stalls {
		m.metrics.stalls.Inc()
		lvl := slog.LevelDebug // starvation comes in bursts: the metric counts them
		if late > awareness.PauseThreshold {
			lvl = slog.LevelWarn
		}
		m.log.Log(context.Background(), lvl, "scheduler was stalled (local stall)", "late_by", late.Round(time.Millisecond))
	}
	if rd.resumed {
		m.log.Info("this process was paused: re-running every check; stale results are not judged")
		m.poke()
	}
	for _, t := range rd.transitions {
		m.publish(t)
	}
	for _, reason := range rd.handOff {
		if m.handler == nil {
			m.log.Error("critical check failing and no shutdown handler set", "reason", reason)
			continue
		}
		m.log.Warn("critical failure confirmed; asking for shutdown", "reason", reason)
		// Its own goroutine: the handler may block, or stop this manager,
		// without holding up the scheduler.
		go m.callHandler(m.handler, reason)
	}
	for _, on := range rd.suppression {
		if on {
			m.metrics.suppressed.Set(1)
		} else {
			m.metrics.suppressed.Set(0)
			m.log.Info("no critical check failing any more; shutdown no longer suppressed")
		}
	}
	if snap := rd.snap; snap != nil {
		for name, v := range snap.Checks {
			m.metrics.setCheck(name, v)
		}
		if rd.statusSet {
			m.metrics.setStatus(snap.Status)
		}
		m.metrics.setScores(rd.score, rd.components)
		m.snap.Store(snap)
	}
	return rd
}
