package liveness

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
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/awareness"
)

// Pinger verifies a suspect directly: nil when its process answered.
type Pinger interface {
	Ping(ctx context.Context, id peer.ID) error
}

// pingTimeout bounds one direct ping: a LAN answers in milliseconds, a
// frozen process never does.
const pingTimeout = time.Second

// maxPings bounds the pings in flight, so a mass failure costs a handful of
// streams at a time, not one per dead peer at once.
const maxPings = 4

// View is the node's peer-liveness view: the Table behind a lock, ticked by
// Run, with suspects verified by direct pings. Safe for concurrent use.
type View struct {
	self   peer.ID
	pinger Pinger
	log    *slog.Logger
	tick   time.Duration

	silenceFor func(members int) time.Duration

	mu        sync.Mutex
	t         *Table
	listeners []func(Change)

	pings   chan struct{} // semaphore
	peers   *prometheus.GaugeVec
	changes *prometheus.CounterVec
	paused  prometheus.Counter
}

// NewView returns an empty view for the node self. aw is this process's
// awareness: the time it spends stalled or starved is not counted as its
// peers' silence (nil: it never is found so). pinger may be nil (no direct
// verification: suspects turn dead on the suspicion timeout unless they
// speak). reg and log may be nil.
func NewView(self peer.ID, cfg Config, aw *awareness.Awareness, pinger Pinger, reg prometheus.Registerer, log *slog.Logger) (*View, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var aware Aware
	if aw != nil {
		aware = aw
	}
	t := NewTable(self, cfg, aware)
	v := &View{
		self: self, pinger: pinger, log: log.With("component", "liveness"), tick: t.cfg.TickPeriod, t: t,
		pings: make(chan struct{}, maxPings),
		peers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshhealth_peers",
			Help: "Peers in this node's liveness view, by state (alive, suspect, dead, left).",
		}, []string{"state"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshhealth_peer_state_changes_total",
			Help: "Peer liveness state changes, by the state entered.",
		}, []string{"to"}),
		paused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshhealth_liveness_local_pauses_total",
			Help: "Times this process was found paused for more than a second (SIGSTOP, VM pause, starvation); the pause was not counted as the peers' silence.",
		}),
	}
	if aw != nil {
		// The awareness says when a pause ends (and logs it); the table
		// discounts it on its next tick.
		aw.OnWindow(func(w awareness.Window) {
			if w.Pause() {
				v.paused.Inc()
			}
		})
	}
	for _, s := range States() {
		v.peers.WithLabelValues(string(s))
		v.changes.WithLabelValues(string(s))
	}
	if err := metrics.Register(reg, v.peers, v.changes, v.paused); err != nil {
		return nil, fmt.Errorf("liveness metrics: %w", err)
	}
	return v, nil
}

// OnChange registers fn for every state change. fn runs on the caller's
// goroutine with no lock held and must not block.
func (v *View) OnChange(fn func(Change)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.listeners = append(v.listeners, fn)
}

// SilenceFor sets how the silence that makes an alive peer suspect grows
// with the number of members (a peer publishes less often in a larger
// mesh); the node hands it the summaries' rule (summary.Book.Silence).
// Call before Run.
func (v *View) SilenceFor(fn func(members int) time.Duration) { v.silenceFor = fn }

// Observe feeds evidence about id, now.
func (v *View) Observe(id peer.ID, ev Evidence, written time.Time) {
	v.mu.Lock()
	v.t.Observe(time.Now(), id, ev, written)
	v.flushLocked()
}

// flushLocked publishes the table's changes and unlocks.
func (v *View) flushLocked() {
	changes := v.t.Changes()
	var counts map[State]int
	var fns []func(Change)
	if len(changes) > 0 {
		counts = v.t.Counts()
		fns = v.listeners
	}
	v.mu.Unlock()
	for _, c := range changes {
		v.changes.WithLabelValues(string(c.To)).Inc()
		lvl := slog.LevelDebug
		if c.To == Dead || c.To == Left {
			lvl = slog.LevelInfo
		}
		v.log.Log(context.Background(), lvl, "peer state changed", "peer", c.ID, "from", c.From, "to", c.To, "evidence", c.Evidence)
		for _, fn := range fns {
			fn(c)
		}
	}
	for s, n := range counts {
		v.peers.WithLabelValues(string(s)).Set(float64(n))
	}
}

// Run ticks the table and verifies suspects until ctx ends.
func (v *View) Run(ctx context.Context) {
	t := time.NewTicker(v.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			v.step(ctx, now)
		}
	}
}

func (v *View) step(ctx context.Context, now time.Time) {
	v.mu.Lock()
	if v.silenceFor != nil {
		v.t.SetSilence(v.silenceFor(v.t.Members()))
	}
	v.t.Tick(now)
	var due []peer.ID
	if v.pinger != nil {
		due = v.t.DueVerify(now)
		if id, ok := v.t.DueSweep(now); ok {
			due = append(due, id)
		}
	}
	v.flushLocked()
	for _, id := range due {
		select {
		case v.pings <- struct{}{}:
		default:
			continue // at the cap: next round
		}
		go func() {
			defer func() { <-v.pings }()
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := v.pinger.Ping(pctx, id)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				v.Observe(id, PingFailed, time.Time{})
				return
			}
			v.Observe(id, Pinged, time.Time{})
		}()
	}
}

// SetSilence sets the silence that makes an alive peer suspect (see
// Config.Silence); the node raises it with the mesh's size.
func (v *View) SetSilence(d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.t.SetSilence(d)
}

// Get returns what the view knows of id.
func (v *View) Get(id peer.ID) (Info, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.Get(id)
}

// All returns every known peer, sorted by ID.
func (v *View) All() []Info {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.All()
}

// Counts returns the number of peers in each state.
func (v *View) Counts() map[State]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.Counts()
}

// Members is the number of nodes in the mesh as this node sees it: itself
// and every peer alive or suspect.
func (v *View) Members() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.Members()
}

// LivePeers is the number of peers alive or suspect: the members but this
// node.
func (v *View) LivePeers() int { return v.Members() - 1 }

// Responders: see Table.Responders.
func (v *View) Responders() (fresh, fallback []peer.ID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.Responders(time.Now())
}

// Live reports whether id is alive or suspect.
func (v *View) Live(id peer.ID) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.Live(id)
}

// Suspected reports whether id is suspect: silent, not yet confirmed dead.
func (v *View) Suspected(id peer.ID) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.t.Get(id)
	return ok && e.State == Suspect
}

// Suspects is the number of peers suspect: the members not heard lately.
func (v *View) Suspects() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.Suspects()
}

// LiveIDs lists the peers alive or suspect, in no order.
func (v *View) LiveIDs() []peer.ID {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.LiveIDs()
}

// Gone reports whether id is known dead or departed.
func (v *View) Gone(id peer.ID) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.Gone(id)
}

// Wrap returns next with every accepted message from another peer fed to
// the view, for registration as a meshhealth topic's validator: a goodbye
// makes its author left, anything else is evidence of life written at the
// message's own timestamp. The evidence is about the author (the message's
// signed From), not the peer that forwarded it (from): with a bounded
// degree most members are heard only through others.
func (v *View) Wrap(next pubsub.ValidatorEx) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		res := next(ctx, from, msg)
		author := msg.GetFrom()
		if res != pubsub.ValidationAccept || author == v.self {
			return res
		}
		m, ok := msg.ValidatorData.(wire.Message)
		if !ok {
			v.Observe(author, Message, time.Time{})
			return res
		}
		if _, bye := m.(*wire.Goodbye); bye {
			v.Observe(author, Goodbye, m.Head().Time())
		} else {
			v.Observe(author, Message, m.Head().Time())
		}
		return res
	}
}
