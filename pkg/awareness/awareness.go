package awareness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/metrics"
)

// Config sets the edge's ticker and sampler. The zero value is the
// default.
type Config struct {
	// TickPeriod is the ticker's period; <= 0 means DefaultTickPeriod.
	TickPeriod time.Duration
	// RunQueueWait reads this process's total run-queue wait (false:
	// unknown). nil reads the kernel's (/proc/self/task/*/schedstat on
	// Linux; nothing elsewhere). Tests inside a synctest bubble set one:
	// the kernel's wait is real time, their clock is not.
	RunQueueWait func() (time.Duration, bool)
}

// Awareness is the edge around Core: the one ticker that looks for stalls,
// the run-queue sampler, the metrics and the logs. Its queries answer for
// explicit times, as Core's do, so the pure cores that read it (health's,
// liveness's Table) stay deterministic under test. Safe for concurrent
// use.
type Awareness struct {
	period time.Duration
	read   func() (time.Duration, bool)
	log    *slog.Logger

	starved prometheus.Counter

	mu     sync.Mutex
	core   *Core
	onWin  []func(Window)
	cancel context.CancelFunc
	done   chan struct{}
}

// New builds an awareness; Start starts its ticker. reg receives its
// metrics (nil: none); log may be nil (quiet).
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Awareness, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	read := cfg.RunQueueWait
	if read == nil {
		read = runQueueWait
	}
	core := NewCore(cfg.TickPeriod)
	a := &Awareness{
		period: core.Period(),
		read:   read,
		log:    log.With("component", "awareness"),
		core:   core,
		// The name predates this package (the health manager owned the
		// sampler): dashboards read it.
		starved: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "meshhealth", Name: "process_starved_seconds_total",
			Help: "Seconds (sampled each second) in which this process's threads waited for a CPU more than a quarter of the time; probe failures then are not counted (Lifeguard)."}),
	}
	if err := metrics.Register(reg, a.starved); err != nil {
		return nil, fmt.Errorf("awareness metrics: %w", err)
	}
	return a, nil
}

// OnWindow registers fn for every stall, pause and starvation window, as
// it is found. fn runs on the ticker's goroutine with no lock held and
// must not block.
func (a *Awareness) OnWindow(fn func(Window)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onWin = append(a.onWin, fn)
}

// Start starts the ticker. ctx only bounds the call: the ticker runs until
// Stop.
func (a *Awareness) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start awareness: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		return errors.New("start awareness: already started")
	}
	run, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	a.core.Tick(time.Now())
	go a.run(run, a.done)
	return nil
}

// Stop stops the ticker and waits for it. From then on no stall is in
// progress, however long ago the last tick was. Idempotent.
func (a *Awareness) Stop() {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	a.mu.Lock()
	a.core.Stop()
	a.mu.Unlock()
}

func (a *Awareness) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(a.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.step(time.Now())
	}
}

// step ticks the core and, once a SampleEvery, samples the run-queue wait
// (reading /proc, so outside the lock), then reports what was found.
func (a *Awareness) step(now time.Time) {
	a.mu.Lock()
	a.core.Tick(now)
	due := a.core.SampleDue(now)
	a.mu.Unlock()
	if due {
		wait, ok := a.read()
		a.mu.Lock()
		a.core.Sample(now, wait, ok)
		a.mu.Unlock()
	}
	a.mu.Lock()
	found, fns := a.core.Ready(), a.onWin
	a.mu.Unlock()
	for _, w := range found {
		switch {
		case w.Starved:
			a.starved.Add(w.To.Sub(w.From).Seconds())
		case w.Pause():
			a.log.Warn("this process was paused; its evidence meanwhile is not held against its peers", "for", w.Late.Round(time.Millisecond))
		default:
			// Starvation comes in bursts: the health scheduler's stall
			// metric counts them.
			a.log.Debug("this process was stalled (local stall)", "late_by", w.Late.Round(time.Millisecond))
		}
		for _, fn := range fns {
			fn(w)
		}
	}
}

// StalledDuring reports whether this process was stalled, paused or
// starved at any time in [from, to], or still is at to (Core.StalledDuring).
func (a *Awareness) StalledDuring(from, to time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.core.StalledDuring(from, to)
}

// StarvedDuring reports whether this process was starved of CPU in
// [from, to], or still is at to (Core.StarvedDuring).
func (a *Awareness) StarvedDuring(from, to time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.core.StarvedDuring(from, to)
}

// Starved reports whether this process is starved of CPU now.
func (a *Awareness) Starved() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.core.Starved(time.Now())
}

// Lost is how much of [from, to] this process spent stalled, paused or
// starved (Core.Lost).
func (a *Awareness) Lost(from, to time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.core.Lost(from, to)
}

// LastPause is when the latest pause of this process began (Core.LastPause).
func (a *Awareness) LastPause(now time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.core.LastPause(now)
}

// Scale is how many times longer than usual a timeout should be now
// (Core.Scale).
func (a *Awareness) Scale() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.core.Scale()
}
