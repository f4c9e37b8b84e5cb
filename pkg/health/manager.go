package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Manager runs the checks and publishes the node's health.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	epoch   time.Time // base of the monotonic nanosecond atomics below

	mu          sync.Mutex
	checks      []*checkState // sorted by name
	started     bool
	stopped     bool
	startTime   time.Time
	cancel      context.CancelFunc
	stopping    bool
	stopReason  string
	leader      string
	term        uint64
	keyMetrics  map[string]json.RawMessage // replaced, never mutated: snapshots share it
	scoreLevel  Status
	status      Status
	suppressed  bool
	transitions []Transition // last maxTransitions, replaced, never mutated
	seq         uint64
	totalRuns   uint64
	lastCheck   time.Time
	resumedAt   time.Time // end of this process's last pause: staleness counts from here
	handler     CriticalHandler

	index        atomic.Pointer[map[string]*checkState] // copy-on-write, for Trigger without the lock
	snap         atomic.Pointer[Snapshot]
	nextDeadline atomic.Int64 // mono ns of the next time a result goes stale or the grace ends; 0: none
	lastTick     atomic.Int64 // mono ns of the scheduler's last tick
	lastWatch    atomic.Int64 // mono ns of the watchdog's last tick; 0 before it runs
	everStarted  atomic.Bool
	running      atomic.Bool // between Start and Stop
	stalledLog   atomic.Bool // the watchdog has logged the current scheduler stall

	stallMu      sync.Mutex
	stallReq     chan stallRequest
	stallRelease chan struct{}
	stallWins    []window   // recent late ticks, guarded by stallMu
	starve       starvation // sampled by the scheduler loop only

	wake         chan struct{}
	hub          *hub
	bootID       string        // prefix of event IDs, new in each process
	openStreams  atomic.Int64  // /health/events streams being served
	streamsDone  chan struct{} // closed by CloseStreams
	closeStreams sync.Once
	wg           sync.WaitGroup // scheduler, watchdog, and runs not abandoned
}

const maxTransitions = 100

// NewManager builds a manager with no checks. reg receives the health
// metrics (nil: a private registry); log may be nil (quiet).
func NewManager(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Manager, error) {
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
	m := &Manager{
		cfg:         cfg,
		log:         log,
		metrics:     met,
		epoch:       time.Now(),
		scoreLevel:  StatusHealthy,
		keyMetrics:  map[string]json.RawMessage{},
		stallReq:    make(chan stallRequest, 1),
		wake:        make(chan struct{}, 1),
		hub:         newHub(met.eventsDropped),
		bootID:      newBootID(),
		streamsDone: make(chan struct{}),
	}
	empty := map[string]*checkState{}
	m.index.Store(&empty)
	m.mu.Lock()
	m.refreshLocked(time.Now())
	m.mu.Unlock()
	return m, nil
}

// mono converts t to nanoseconds since the manager was built, on the
// monotonic clock, so that it fits an atomic.
func (m *Manager) mono(t time.Time) int64 { return int64(t.Sub(m.epoch)) }

// Register adds a check, filling its zero fields with the defaults. Checks
// may be registered before or after Start.
func (m *Manager) Register(c Check) error {
	c = withDefaults(c)
	if err := validateCheck(c); err != nil {
		return fmt.Errorf("register check %q: %w", c.Name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return fmt.Errorf("register check %q: health manager stopped", c.Name)
	}
	idx := *m.index.Load()
	if _, dup := idx[c.Name]; dup {
		return fmt.Errorf("register check %q: a check with this name is already registered", c.Name)
	}
	now := time.Now()
	cs := &checkState{def: c, registered: now, hist: newRing(m.cfg.History), next: now, effective: StateUnknown}
	cs.deb.State = StateUnknown
	m.checks = append(m.checks, cs)
	slices.SortFunc(m.checks, func(a, b *checkState) int { return strings.Compare(a.def.Name, b.def.Name) })
	next := maps.Clone(idx)
	next[c.Name] = cs
	m.index.Store(&next)
	m.metrics.initCheck(c)
	m.refreshLocked(now)
	m.poke()
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
	switch {
	case m.stopped:
		return errors.New("start health manager: already stopped")
	case m.started:
		return errors.New("start health manager: already started")
	}
	now := time.Now()
	m.started, m.startTime = true, now
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	for _, c := range m.checks {
		c.next = now
	}
	m.lastTick.Store(m.mono(now))
	m.everStarted.Store(true)
	m.running.Store(true)
	m.wg.Add(2)
	go m.loop(base)
	go m.watchdog(base)
	m.refreshLocked(now)
	m.log.Info("health manager started", "checks", len(m.checks), "startup_grace", m.cfg.StartupGrace)
	return nil
}

// Stop stops the scheduler, the watchdog and the listeners, cancels running
// checks and waits for them. A checker that ignores its context is not waited
// for: it is abandoned (at most abandonGrace after the cancel). Stop is
// idempotent.
func (m *Manager) Stop() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.stopped = true
	cancel := m.cancel
	m.mu.Unlock()
	m.running.Store(false)
	if cancel != nil {
		cancel()
	}
	m.hub.close()
	m.wg.Wait()
	m.log.Debug("health manager stopped")
}

// Trigger asks for an early run of the named check. It never blocks;
// triggers that arrive before the run starts are coalesced into one, and a
// trigger during a run makes the check run again as soon as it ends.
func (m *Manager) Trigger(name string) {
	c, ok := (*m.index.Load())[name]
	if !ok {
		m.log.Debug("trigger for unknown check ignored", "check", name)
		return
	}
	c.trigger.Store(true)
	m.poke()
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
	if m.stopping {
		return
	}
	m.stopping, m.stopReason = true, reason
	m.refreshLocked(time.Now())
}

// SetLeader records the mesh's current leader and term for /health and
// /health/summary.
func (m *Manager) SetLeader(peerID string, term uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leader == peerID && m.term == term {
		return
	}
	m.leader, m.term = peerID, term
	m.refreshLocked(time.Now())
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
	next := maps.Clone(m.keyMetrics)
	next[name] = b
	m.keyMetrics = next
	m.refreshLocked(time.Now())
}

// LastTickAge is how long ago the scheduler last ticked; 0 before Start.
func (m *Manager) LastTickAge() time.Duration {
	if !m.everStarted.Load() {
		return 0
	}
	return time.Duration(m.mono(time.Now()) - m.lastTick.Load())
}

// stalled reports whether the scheduler has missed 3 ticks: the deadlock
// detector behind /health/live.
func (m *Manager) stalled() (bool, time.Duration) {
	if !m.running.Load() {
		return false, 0
	}
	age := m.LastTickAge()
	return age > 3*m.cfg.TickPeriod, age
}
