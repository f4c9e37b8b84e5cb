package probes

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/metrics"
)

// DefaultSilenceTrigger is how long a node with topic peers may hear nothing
// on any meshhealth topic before pubsub-roundtrip is run at once. The
// leader's heartbeat alone arrives every second, so two seconds of silence
// means a lost mesh, not a quiet one.
const DefaultSilenceTrigger = 2 * time.Second

// silenceRepeat is how many silence periods apart the trigger repeats
// while one silence lasts.
const silenceRepeat = 5

// Triggerer runs a check early (health.Manager.Trigger).
type Triggerer interface {
	Trigger(name string)
}

// Activity is the passive side of the pubsub probe: it notes every message
// accepted from a peer on any meshhealth topic (Seen, or Wrap around each
// topic's validator) and, when a node that has topic peers hears nothing
// for the silence period, triggers pubsub-roundtrip rather than waiting up
// to a full probe interval for the next scheduled run.
type Activity struct {
	silence  time.Duration
	hasPeers func() bool
	trigger  Triggerer
	aware    Aware // nil: this process is never found stalled
	log      *slog.Logger
	triggers prometheus.Counter

	mu          sync.Mutex
	last        time.Time // last message from a peer (or start, or the end of a local stall)
	lastTrigger time.Time
}

// NewActivity watches for silence longer than silence (<= 0 means
// DefaultSilenceTrigger). hasPeers reports whether the node has peers on its
// meshhealth topics: silence without peers is the connectivity check's
// business, not a mesh fault. aware (nil: none) says when this process was
// stalled or starved: a silence that overlaps it starts over.
func NewActivity(silence time.Duration, hasPeers func() bool, trigger Triggerer, aware Aware, reg prometheus.Registerer, log *slog.Logger) (*Activity, error) {
	if silence <= 0 {
		silence = DefaultSilenceTrigger
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Activity{
		silence:  silence,
		hasPeers: hasPeers,
		trigger:  trigger,
		aware:    aware,
		log:      log,
		triggers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshhealth_pubsub_silence_triggers_total",
			Help: "Times pubsub-roundtrip was run early because no meshhealth message arrived for the silence period.",
		}),
		last: time.Now(),
	}
	if err := metrics.Register(reg, a.triggers); err != nil {
		return nil, fmt.Errorf("activity metrics: %w", err)
	}
	return a, nil
}

// Seen records a message accepted from a peer. Own messages must not be
// passed: a partitioned node still hears its own probes.
func (a *Activity) Seen() {
	a.mu.Lock()
	a.last = time.Now()
	a.mu.Unlock()
}

// HeardSince reports whether a message from a peer was accepted after t.
func (a *Activity) HeardSince(t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last.After(t)
}

// Wrap returns next with a Seen call on every accepted message authored by
// another peer, for registration as a meshhealth topic's validator.
func (a *Activity) Wrap(self peer.ID, next pubsub.ValidatorEx) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		res := next(ctx, from, msg)
		if res == pubsub.ValidationAccept && msg.GetFrom() != self {
			a.Seen()
		}
		return res
	}
}

// Run checks for silence until ctx is done. It checks eight times per
// silence period, so silence is noticed at most an eighth late.
func (a *Activity) Run(ctx context.Context) {
	tick := time.NewTicker(a.period())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			a.check(now)
		}
	}
}

func (a *Activity) period() time.Duration { return max(a.silence/8, 10*time.Millisecond) }

func (a *Activity) check(now time.Time) {
	a.mu.Lock()
	if a.aware != nil && now.After(a.last) && a.aware.StalledDuring(a.last, now) {
		// This process was stalled or starved during the silence: what the
		// peers sent meanwhile may still wait in the socket and validator
		// queues, so the silence is ours, not the mesh's. Start it over
		// (Lifeguard's rule: a node must not blame the mesh for its own
		// slowness, and fifty starved nodes each probing because of it fed
		// the starvation). While the starvation lasts, it keeps starting
		// over.
		a.last = now
	}
	quiet := now.Sub(a.last)
	// Once when the silence begins, then every silenceRepeat periods while
	// it lasts: the check's own retries confirm a failure, and a mesh that
	// is merely overloaded (no leader, slow delivery) must not be probed
	// by every node every two seconds on top of it.
	due := quiet >= a.silence && (a.lastTrigger.Before(a.last) || now.Sub(a.lastTrigger) >= silenceRepeat*a.silence)
	a.mu.Unlock()
	if !due || !a.hasPeers() {
		return
	}
	a.mu.Lock()
	a.lastTrigger = now
	a.mu.Unlock()
	a.triggers.Inc()
	a.log.Debug("mesh silent, probing now", "silent_for", quiet.Round(time.Millisecond))
	// Once per silence period while it lasts: each run is a confirming
	// sample toward the failure threshold, and the manager's retries do
	// the rest.
	a.trigger.Trigger(CheckPubSubRoundTrip)
}
