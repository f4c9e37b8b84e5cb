package probes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/budget"
	"github.com/meshhealth/meshhealth/internal/metrics"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
)

// CheckPubSubRoundTrip is the name of the pubsub round-trip check.
const CheckPubSubRoundTrip = "pubsub-roundtrip"

// MaxResponders is how many peers a probe asks to acknowledge when it asks
// again after an unanswered attempt: enough that one slow or dead peer
// cannot fail the check, few enough that the retry costs a constant 1 + 3
// messages whatever the mesh size. The wire protocol allows no more.
const MaxResponders = wire.MaxResponders

// firstResponders is how many peers the first attempt asks. One ack proves
// the round-trip; asking three cost two acks per probe that nobody needed,
// and acks were half the probe topic's traffic. An unanswered first attempt
// asks MaxResponders others before anything counts as a failure.
const firstResponders = 1

// subscriptionBuffer is the probe topic's inbox. GossipSub drops what does
// not fit (a "slow subscriber"), and a dropped ack is a false failure; in a
// 50-node mesh one interval brings about 200 messages, often in bursts
// when schedulers align after a partition heals.
const subscriptionBuffer = 1024

// ProbeTopic is the joined meshhealth/probe/v1 topic; *pubsub.Topic is one.
type ProbeTopic interface {
	Publish(ctx context.Context, data []byte, opts ...pubsub.PubOpt) error
	ListPeers() []peer.ID
	Subscribe(opts ...pubsub.SubOpt) (*pubsub.Subscription, error)
}

// Connectedness tells directly connected peers apart (host.Network()).
type Connectedness interface {
	Connectedness(peer.ID) network.Connectedness
}

// PeerLiveness is the node's peer-liveness view (liveness.View): who may
// be asked, and where the probe's evidence goes.
type PeerLiveness interface {
	// Responders returns the peers with fresh evidence of life that have
	// not failed to answer lately, and the other peers not known dead or
	// departed.
	Responders() (fresh, fallback []peer.ID)
	Observe(id peer.ID, ev liveness.Evidence, written time.Time)
}

// pubsubBudget is how many round-trips a second the whole mesh may start
// on the shared probe topic, whatever its size (docs/ARCHITECTURE.md,
// "Flat cost"): each costs a probe and, usually, one ack on every node.
// They test the mesh's multi-hop forwarding, which is the mesh's health
// more than this node's; a node's own path is checked by its direct
// round-trips at the fixed interval, so this budget is a fifth of what it
// was when it also had to find a node's own failure.
const pubsubBudget = 0.2

// PubSubConfig configures the pubsub round-trip check.
type PubSubConfig struct {
	Interval time.Duration // default DefaultSchedules().PubSub's
	Timeout  time.Duration // the adaptive timeout's ceiling; default DefaultSchedules().PubSub's
	// MinPeers: with live peers but none on the probe topic the check
	// fails, unless this is 0 (a node run alone on purpose).
	MinPeers int
	// Members, when set, counts the nodes of the mesh (the liveness view's
	// Members): the probe then runs as often as pubsubBudget allows,
	// never more often than Interval.
	Members func() int
	// Heard reports whether any meshhealth message from a peer arrived
	// since a time (Activity.HeardSince); nil counts every failure as slow.
	Heard func(since time.Time) bool
	// Aware is this process's awareness; while it struggles the adaptive
	// wait stretches by its scale. Nil: never stretched for it.
	Aware Aware
	// Direct, when set, carries the runs between the shared topic's: a
	// round-trip to one neighbour over its direct topic, every Interval
	// whatever the mesh size. Nil: every run uses the shared topic, at the
	// budget's pace.
	Direct *Direct
}

// PubSubProbe is the pubsub-roundtrip check and the responder side of the
// protocol. Every Interval it runs a direct round-trip: a probe published on
// one neighbour's direct topic, acked on this node's, one message each way
// through GossipSub (Direct). When the message budget allows (or no
// neighbour can be asked directly) a run uses the shared topic instead: it
// publishes Probe{nonce, ts, responders} naming one peer with
// fresh evidence of life, preferably one it is not directly connected to so
// the probe crosses hops, and passes when its own probe is delivered back
// to it and the responder's Ack arrives through the mesh. An unanswered
// attempt asks up to three different live peers, direct neighbours first,
// before the run fails: the check fails only when no live peer answers
// (or, when the node hears no peer at all, at once: the fault is then its
// own). It also acks the probes of others that list this node.
type PubSubProbe struct {
	topic ProbeTopic
	self  peer.ID
	conns Connectedness
	peers PeerLiveness // nil: every topic peer is a fresh candidate
	cfg   PubSubConfig
	log   *slog.Logger

	adaptive    *Adaptive
	dropInbound atomic.Bool

	mu      sync.Mutex
	pending map[string]*pendingProbe
	cancel  context.CancelFunc
	done    chan struct{}
	// life ends with Close; a run under way ends with it (see attempt).
	life   context.Context
	wideAt time.Time // the last run on the shared topic

	rtt        prometheus.Histogram
	acksIn     *prometheus.CounterVec
	published  *prometheus.CounterVec
	dropped    prometheus.Counter
	timeoutSec prometheus.Gauge
}

// pendingProbe is one probe in flight.
type pendingProbe struct {
	responders []peer.ID
	wake       chan struct{} // one pending wake-up is enough

	mu      sync.Mutex
	local   bool
	acks    []ackRecv
	gone    map[peer.ID]bool
	retired bool
}

type ackRecv struct {
	from peer.ID
	at   time.Time
}

func (pp *pendingProbe) poke() {
	select {
	case pp.wake <- struct{}{}:
	default:
	}
}

// NewPubSubRoundTrip builds the probe on a joined probe topic. peers may be
// nil (tests): every topic peer is then a candidate. Start it before the
// check runs.
func NewPubSubRoundTrip(topic ProbeTopic, self peer.ID, conns Connectedness, peers PeerLiveness, cfg PubSubConfig, reg prometheus.Registerer, log *slog.Logger) (*PubSubProbe, error) {
	sched := Schedule{Interval: cfg.Interval, Timeout: cfg.Timeout}.withDefaults(DefaultSchedules().PubSub)
	cfg.Interval, cfg.Timeout = sched.Interval, sched.Timeout
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &PubSubProbe{
		topic:    topic,
		self:     self,
		conns:    conns,
		peers:    peers,
		cfg:      cfg,
		log:      log,
		adaptive: NewAdaptive(AdaptiveFloor, cfg.Timeout, cfg.Aware),
		pending:  map[string]*pendingProbe{},
		rtt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "meshhealth_pubsub_probe_rtt_seconds",
			Help:    "Round-trip from publishing a pubsub probe to its first acknowledgement through the mesh.",
			Buckets: latencyBuckets,
		}),
		acksIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshhealth_pubsub_probe_acks_received_total",
			Help: "Acks addressed to this node's probes, by result: matched (in time, from a listed responder), late (after the probe ended), unexpected (from a peer not listed).",
		}, []string{"result"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshhealth_pubsub_probe_messages_published_total",
			Help: "Messages this node published on the probe topic, by type (probe, ack).",
		}, []string{"type"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshhealth_pubsub_probe_inbound_dropped_total",
			Help: "Probe-topic messages ignored while the drop-inbound fault is on.",
		}),
		timeoutSec: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshhealth_pubsub_probe_timeout_seconds",
			Help: "Current adaptive timeout of the pubsub round-trip probe.",
		}),
	}
	for _, r := range []string{"matched", "late", "unexpected"} {
		p.acksIn.WithLabelValues(r)
	}
	for _, t := range []string{"probe", "ack"} {
		p.published.WithLabelValues(t)
	}
	if err := metrics.Register(reg, p.rtt, p.acksIn, p.published, p.dropped, p.timeoutSec); err != nil {
		return nil, fmt.Errorf("pubsub probe metrics: %w", err)
	}
	return p, nil
}

// Start subscribes to the probe topic and handles its messages until Close.
// ctx bounds the start only (fx cancels its start context once the app is
// up); its values are kept.
func (p *PubSubProbe) Start(ctx context.Context) error {
	sub, err := p.topic.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", wire.TopicProbe, err)
	}
	subs := []*pubsub.Subscription{sub}
	if p.cfg.Direct != nil {
		// Its own direct topic brings a neighbour's probe or ack at a
		// time: a small inbox does.
		own, err := p.cfg.Direct.own.Subscribe(pubsub.WithBufferSize(64))
		if err != nil {
			sub.Cancel()
			return fmt.Errorf("subscribe %s: %w", p.cfg.Direct.own, err)
		}
		subs = append(subs, own)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	p.mu.Lock()
	p.cancel, p.done, p.life = cancel, done, ctx
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, sub := range subs {
		wg.Go(func() {
			defer sub.Cancel()
			for {
				msg, err := sub.Next(ctx)
				if err != nil {
					return
				}
				p.handle(ctx, msg)
			}
		})
	}
	go func() {
		wg.Wait()
		if p.cfg.Direct != nil {
			p.cfg.Direct.Close()
		}
		close(done)
	}()
	return nil
}

// Close stops handling messages; the check fails from then on.
func (p *PubSubProbe) Close() {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel = nil
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (p *PubSubProbe) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cancel != nil
}

// SetDropInbound is the (pubsub, drop-inbound) fault: while on, the probe
// topics' validators (Validator, on the shared topic and on this node's
// direct topic) ignore every message from a remote peer, so nothing
// reaches this node on them and it forwards nothing.
func (p *PubSubProbe) SetDropInbound(on bool) { p.dropInbound.Store(on) }

// Validator wraps the probe topic's validator (wire.NewValidator) with the
// drop-inbound fault. Register the result with RegisterTopicValidator.
func (p *PubSubProbe) Validator(next pubsub.ValidatorEx) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if from != p.self && p.dropInbound.Load() {
			p.dropped.Inc()
			return pubsub.ValidationIgnore
		}
		if next == nil {
			return pubsub.ValidationAccept
		}
		return next(ctx, from, msg)
	}
}

// PeerChanged is the probe's listener on the liveness view
// (liveness.View.OnChange): a probe waiting on a peer that leaves is sent
// again to others rather than failed for its leaving.
func (p *PubSubProbe) PeerChanged(ch liveness.Change) {
	if ch.To == liveness.Left {
		p.Forget(ch.ID)
	}
}

// Forget tells a probe in flight that a peer left (said goodbye): a probe
// waiting only on leavers is sent again to others rather than failed. The
// liveness view keeps it from being chosen again.
func (p *PubSubProbe) Forget(id peer.ID) {
	p.mu.Lock()
	pend := make([]*pendingProbe, 0, len(p.pending))
	for _, pp := range p.pending {
		pend = append(pend, pp)
	}
	p.mu.Unlock()
	for _, pp := range pend {
		if slices.Contains(pp.responders, id) {
			pp.mu.Lock()
			pp.gone[id] = true
			pp.mu.Unlock()
			pp.poke()
		}
	}
}

// handle is the responder side and the prober's inbox.
func (p *PubSubProbe) handle(ctx context.Context, msg *pubsub.Message) {
	m, err := decodeProbeTopic(msg)
	if err != nil {
		p.log.Debug("undecodable probe-topic message", "author", msg.GetFrom(), "err", err)
		return
	}
	author := msg.GetFrom()
	_, direct := wire.DirectOwner(msg.GetTopic())
	switch m := m.(type) {
	case *wire.Probe:
		if author == p.self {
			p.localDelivery(m.Nonce)
			return
		}
		if slices.Contains(m.Responders, p.self) {
			p.sendAck(ctx, m.Nonce, author, direct)
		}
	case *wire.Ack:
		if author == p.self {
			return
		}
		if m.ProbeFrom == p.self {
			p.ackReceived(m.Nonce, author)
		}
	}
}

// sendAck answers on the path the probe came by: the shared topic, or
// the prober's direct topic.
func (p *PubSubProbe) sendAck(ctx context.Context, nonce string, to peer.ID, direct bool) {
	data, err := encodeAck(p.self, time.Now(), nonce, to)
	if err != nil {
		p.log.Error("encoding ack", "err", err)
		return
	}
	publish := p.topic.Publish
	if direct && p.cfg.Direct != nil {
		publish = func(ctx context.Context, data []byte, _ ...pubsub.PubOpt) error {
			return p.cfg.Direct.publish(ctx, to, data)
		}
	}
	if err := publish(ctx, data); err != nil {
		p.log.Debug("publishing ack", "to", to, "err", err)
		return
	}
	p.published.WithLabelValues("ack").Inc()
}

func (p *PubSubProbe) localDelivery(nonce string) {
	p.mu.Lock()
	pp := p.pending[nonce]
	p.mu.Unlock()
	if pp == nil {
		return
	}
	pp.mu.Lock()
	pp.local = true
	pp.mu.Unlock()
	pp.poke()
}

func (p *PubSubProbe) ackReceived(nonce string, from peer.ID) {
	if p.peers != nil {
		// Late or not, an ack is its author answering.
		p.peers.Observe(from, liveness.Ack, time.Time{})
	}
	p.mu.Lock()
	pp := p.pending[nonce]
	p.mu.Unlock()
	if pp == nil {
		p.acksIn.WithLabelValues("late").Inc()
		return
	}
	if !slices.Contains(pp.responders, from) {
		p.acksIn.WithLabelValues("unexpected").Inc()
		return
	}
	pp.mu.Lock()
	if pp.retired {
		pp.mu.Unlock()
		p.acksIn.WithLabelValues("late").Inc()
		return
	}
	pp.acks = append(pp.acks, ackRecv{from: from, at: time.Now()})
	pp.mu.Unlock()
	p.acksIn.WithLabelValues("matched").Inc()
	pp.poke()
}

// neighbours are the candidates a direct round-trip may ask: directly
// connected, and subscribed to their direct topic.
func (p *PubSubProbe) neighbours() (fresh, fallback []peer.ID) {
	fresh, fallback = p.candidates()
	unreachable := func(id peer.ID) bool { return !p.isDirect(id) || !p.cfg.Direct.reachable(id) }
	return slices.DeleteFunc(fresh, unreachable), slices.DeleteFunc(fallback, unreachable)
}

// candidates are the peers a probe may ask, in two tiers (see
// PeerLiveness.Responders), less this node. Without a liveness view every
// topic peer is fresh.
func (p *PubSubProbe) candidates() (fresh, fallback []peer.ID) {
	if p.peers == nil {
		return slices.DeleteFunc(slices.Clone(p.topic.ListPeers()), func(id peer.ID) bool { return id == p.self }), nil
	}
	fresh, fallback = p.peers.Responders()
	notSelf := func(id peer.ID) bool { return id == p.self }
	return slices.DeleteFunc(fresh, notSelf), slices.DeleteFunc(fallback, notSelf)
}

// pickResponders chooses up to n peers at random, those without a direct
// connection first: their acks must cross at least two hops, so the probe
// tests the mesh's forwarding and not only a neighbour's link.
func pickResponders(cands []peer.ID, direct func(peer.ID) bool, n int, rng *mrand.Rand) []peer.ID {
	return pickOrdered(cands, func(id peer.ID) bool { return !direct(id) }, n, rng)
}

// pickOrdered chooses up to n peers at random, those for which first holds
// before the others.
func pickOrdered(cands []peer.ID, first func(peer.ID) bool, n int, rng *mrand.Rand) []peer.ID {
	c := slices.Clone(cands)
	rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	slices.SortStableFunc(c, func(a, b peer.ID) int {
		fa, fb := first(a), first(b)
		switch {
		case fa == fb:
			return 0
		case fa:
			return -1
		}
		return 1
	})
	return c[:min(n, len(c))]
}

func (p *PubSubProbe) isDirect(id peer.ID) bool {
	return p.conns != nil && p.conns.Connectedness(id) == network.Connected
}

func newNonce() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Check returns the pubsub-roundtrip check.
func (p *PubSubProbe) Check() health.Check {
	return health.Check{
		Name:        CheckPubSubRoundTrip,
		Component:   health.ComponentPubSub,
		Description: "own probe delivered locally and acknowledged by a peer through the mesh",
		Interval:    p.cfg.Interval,
		Every:       p.every(),
		Timeout:     p.cfg.Timeout,
		Critical:    true,
		LatencySLO:  500 * time.Millisecond,
		Checker:     p.run,
	}
}

// every is the check's stretch: none when direct round-trips carry it
// (they cost the same at any N), the budget's otherwise.
func (p *PubSubProbe) every() func() time.Duration {
	if p.cfg.Direct != nil {
		return nil
	}
	return budget.Every(p.cfg.Interval, p.cfg.Members, pubsubBudget)
}

// wideEvery is how often this node may use the shared topic.
func (p *PubSubProbe) wideEvery() time.Duration {
	if p.cfg.Members == nil {
		return p.cfg.Interval
	}
	return budget.Interval(p.cfg.Interval, p.cfg.Members(), pubsubBudget)
}

// path picks this run's path and its candidates (wideDue).
func (p *PubSubProbe) path(now time.Time) (direct bool, fresh, fallback []peer.ID) {
	if p.cfg.Direct == nil {
		fresh, fallback = p.candidates()
		return false, fresh, fallback
	}
	p.cfg.Direct.prune()
	every := p.wideEvery()
	p.mu.Lock()
	if p.wideAt.IsZero() {
		// Spread the first shared-topic runs of nodes started together
		// over the budget's interval instead of starting with all of them.
		p.wideAt = now.Add(-time.Duration(mrand.Int64N(int64(every))))
	}
	last := p.wideAt
	p.mu.Unlock()
	fresh, fallback = p.neighbours()
	if !wideDue(now, last, every, len(fresh)+len(fallback)) {
		return true, fresh, fallback
	}
	p.mu.Lock()
	p.wideAt = now
	p.mu.Unlock()
	fresh, fallback = p.candidates()
	return false, fresh, fallback
}

// maxLeaves bounds re-sending when every responder leaves mid-attempt.
const maxLeaves = 2

// run is one check: each attempt waits the adaptive timeout; the check's
// own timeout (the scheduler's context) bounds them all. A failure that
// came while the node heard its peers stretches the next wait (a slow
// mesh); a silent one keeps the fast confirmation at the floor.
func (p *PubSubProbe) run(ctx context.Context) health.Result {
	start := time.Now()
	wait := p.adaptive.Timeout()
	p.timeoutSec.Set(wait.Seconds())
	if !p.running() {
		return health.Result{Message: fmt.Sprintf("not subscribed to %s", wire.TopicProbe), Details: map[string]any{
			"local_delivery": false, "acks_received": 0, "acks_expected": 0,
			"responders": []string{}, "timeout_ms": wait.Milliseconds(),
		}}
	}
	direct, fresh, fallback := p.path(start)
	r := p.probe(ctx, wait, direct, fresh, fallback)
	if !r.Healthy && p.heard(start) {
		p.adaptive.Fail()
	}
	return r
}

// heard tells a slow mesh from a silent one after a failed round-trip: if
// any meshhealth message from a peer arrived since start (the leader's
// heartbeat comes every second), the mesh is alive and merely slow, and the
// next wait stretches; a partitioned node hears nothing and keeps the fast
// confirmation (three waits at the floor; docs/ARCHITECTURE.md, "Defaults and
// why").
func (p *PubSubProbe) heard(start time.Time) bool {
	return p.cfg.Heard == nil || p.cfg.Heard(start)
}

// probe asks one fresh peer of the candidates; if it does not answer
// within wait, and the node hears its other peers (so the mesh, not this
// node, is the suspect), it asks up to MaxResponders different ones,
// direct neighbours first. The run fails only when nobody it asked
// answered. direct: the candidates are neighbours asked over their direct
// topics.
func (p *PubSubProbe) probe(ctx context.Context, wait time.Duration, direct bool, fresh, fallback []peer.ID) health.Result {
	start := time.Now()
	details := map[string]any{
		"local_delivery": false, "acks_received": 0, "acks_expected": 0,
		"responders": []string{}, "timeout_ms": wait.Milliseconds(),
		"path": "shared",
	}
	if direct {
		details["path"] = "direct"
	}
	fail := func(format string, a ...any) health.Result {
		return health.Result{Message: fmt.Sprintf(format, a...), Details: details}
	}
	details["live_peers"] = len(fresh) + len(fallback)
	if !direct && len(fresh)+len(fallback) > 0 && p.cfg.MinPeers > 0 && len(p.topic.ListPeers()) == 0 {
		return fail("%d live peers, none on %s", len(fresh)+len(fallback), wire.TopicProbe)
	}
	rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	var asked []peer.ID
	notAsked := func(ids []peer.ID) []peer.ID {
		return slices.DeleteFunc(slices.Clone(ids), func(id peer.ID) bool { return slices.Contains(asked, id) })
	}
	leaves, round := 0, 0
	for {
		var responders []peer.ID
		f, fb := notAsked(fresh), notAsked(fallback)
		switch {
		case round == 0 && len(f) > 0:
			responders = pickResponders(f, p.isDirect, firstResponders, rng)
		case round == 0:
			responders = pickOrdered(fb, p.isDirect, MaxResponders, rng)
		default:
			// Direct neighbours first: one hop leaves the least room for a
			// fault that is not the responder's.
			responders = pickOrdered(f, p.isDirect, MaxResponders, rng)
			if len(responders) < MaxResponders {
				responders = append(responders, pickOrdered(fb, p.isDirect, MaxResponders-len(responders), rng)...)
			}
		}
		if round > 0 && len(responders) == 0 {
			return fail("no live peer answered: %d asked (%s)", len(asked), shortList(asked))
		}
		aw := wait
		if dl, ok := ctx.Deadline(); ok && round == 0 && len(responders) > 0 {
			// Leave the second round at least as much time as the first.
			aw = min(wait, time.Until(dl)/2)
		}
		r, outcome := p.attempt(ctx, responders, details, aw, direct)
		asked = append(asked, responders...)
		details["asked"] = len(asked)
		switch outcome {
		case attemptDone:
			if r.Healthy && round > 0 {
				r.Message += fmt.Sprintf(" (after %d unanswered)", len(asked)-len(responders))
			}
			return r
		case attemptAllLeft:
			if leaves++; leaves >= maxLeaves {
				return r
			}
			p.log.Debug("every responder left mid-probe; asking others", "responders", responders)
			continue
		}
		// Unanswered: the responders are suspect in the liveness view.
		if p.peers != nil {
			for _, id := range responders {
				p.peers.Observe(id, liveness.MissedAck, time.Time{})
			}
		}
		if ctx.Err() != nil {
			return r
		}
		if !p.heard(start) {
			// Not a word from any peer while we waited: the evidence points
			// at this node (a partition), and asking more peers would only
			// slow the confirmation down.
			r.Message += "; no message from any peer meanwhile"
			return r
		}
		round++
	}
}

func shortList(ids []peer.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = short(id.String())
	}
	return strings.Join(s, ", ")
}

// Outcomes of one attempt.
const (
	attemptDone       = iota // passed, or failed for a reason asking others cannot fix
	attemptUnanswered        // nobody asked acked in time
	attemptAllLeft           // every responder left before acking: not the mesh's fault
)

// attempt publishes one probe naming responders and waits up to wait for
// its outcome. direct: one probe per responder, each on its direct topic
// and naming it alone (the inbox rule); none comes back to this node, so
// the local delivery stands as done.
func (p *PubSubProbe) attempt(run context.Context, responders []peer.ID, details map[string]any, wait time.Duration, direct bool) (r health.Result, outcome int) {
	// A run still waiting when the probe closes (for a mesh peer to publish
	// to, or for its acks) ends with it: the node is leaving, and a Publish
	// waiting for readiness holds its topic's lock, so the topic's Close
	// would wait for the run's own timeout (forever in virtual time, where
	// a goroutine blocked on a mutex keeps the clock from moving).
	run, end := context.WithCancel(run)
	defer end()
	p.mu.Lock()
	life := p.life
	p.mu.Unlock()
	if life != nil {
		defer context.AfterFunc(life, end)()
	}
	names := make([]string, len(responders))
	for i, id := range responders {
		names[i] = id.String()
	}
	details["responders"] = names
	details["acks_expected"] = len(responders)

	nonce := newNonce()
	pp := &pendingProbe{responders: responders, wake: make(chan struct{}, 1), gone: map[peer.ID]bool{}}
	p.mu.Lock()
	p.pending[nonce] = pp
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.pending, nonce)
		p.mu.Unlock()
		pp.mu.Lock()
		pp.retired = true
		pp.mu.Unlock()
	}()

	if direct {
		pp.local = true
		if err := p.publishDirect(run, nonce, responders); err != nil {
			return health.Result{Message: err.Error(), Err: err, Details: details}, attemptDone
		}
	} else {
		data, err := encodeProbe(p.self, time.Now(), nonce, responders)
		if err != nil {
			return health.Result{Message: "encoding probe: " + err.Error(), Err: err, Details: details}, attemptDone
		}
		// A probe goes to this node's GossipSub mesh only (no flood
		// publishing), and a peer that has just connected joins that mesh
		// at the next GossipSub heartbeat, up to a second later: published
		// before, the probe reaches nobody, and the silence would read as
		// this node's fault. So with peers on the topic it waits for a mesh
		// peer first, within the run's own timeout, and its wait starts
		// once it is out. A node whose connections are gone has no topic
		// peers and waits for nothing.
		var opts []pubsub.PubOpt
		if len(responders) > 0 && len(p.topic.ListPeers()) > 0 {
			opts = append(opts, pubsub.WithReadiness(pubsub.MinTopicSize(1)))
		}
		if err := p.topic.Publish(run, data, opts...); err != nil {
			err = fmt.Errorf("publish probe on %s: %w", wire.TopicProbe, err)
			return health.Result{Message: err.Error(), Err: err, Details: details}, attemptDone
		}
		p.published.WithLabelValues("probe").Inc()
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(run, wait)
	defer cancel()

	for {
		pp.mu.Lock()
		local, acks, gone := pp.local, slices.Clone(pp.acks), len(pp.gone)
		pp.mu.Unlock()
		details["local_delivery"] = local
		details["acks_received"] = len(acks)
		if local && (len(responders) == 0 || len(acks) > 0) {
			r := health.Result{Healthy: true, Details: details}
			if len(acks) == 0 {
				r.Message = "own probe delivered; no live peer to ask"
				return r, attemptDone
			}
			rtt := acks[0].at.Sub(start)
			p.rtt.Observe(rtt.Seconds())
			p.adaptive.Observe(rtt)
			details["rtt_ms"] = float64(rtt.Microseconds()) / 1000
			details["acked_by"] = acks[0].from.String()
			r.Latency = rtt
			r.Message = fmt.Sprintf("ack from %s in %s", short(acks[0].from.String()), rtt.Round(100*time.Microsecond))
			return r, attemptDone
		}
		if len(responders) > 0 && gone == len(responders) && len(acks) == 0 {
			return health.Result{Message: "every responder left before acking", Details: details}, attemptAllLeft
		}
		select {
		case <-pp.wake:
		case <-ctx.Done():
			var missing []string
			if !local {
				missing = append(missing, "own probe not delivered locally")
			}
			if len(acks) == 0 && len(responders) > 0 {
				missing = append(missing, fmt.Sprintf("no ack from %d responders", len(responders)))
			}
			msg := fmt.Sprintf("%s within %s", joinAnd(missing), wait.Round(time.Millisecond))
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				msg = fmt.Sprintf("%s (%v)", joinAnd(missing), ctx.Err())
			}
			if !local {
				// Our own probe did not come back: no other peer can fix that.
				return health.Result{Message: msg, Details: details}, attemptDone
			}
			return health.Result{Message: msg, Details: details}, attemptUnanswered
		}
	}
}

// publishDirect sends one probe to each responder's direct topic; it fails
// only when none could be sent (a neighbour that went away meanwhile is
// the wait's to find out).
func (p *PubSubProbe) publishDirect(ctx context.Context, nonce string, responders []peer.ID) error {
	var errs []error
	for _, id := range responders {
		data, err := encodeProbe(p.self, time.Now(), nonce, []peer.ID{id})
		if err == nil {
			err = p.cfg.Direct.publish(ctx, id, data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("publish probe on %s's direct topic: %w", short(id.String()), err))
			continue
		}
		p.published.WithLabelValues("probe").Inc()
	}
	if len(errs) == len(responders) && len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return "no outcome"
	case 1:
		return s[0]
	}
	return s[0] + " and " + s[1]
}
