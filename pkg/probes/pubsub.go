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
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/health"
)

// CheckPubSubRoundTrip is the name of the pubsub round-trip check.
const CheckPubSubRoundTrip = "pubsub-roundtrip"

// MaxResponders is how many peers a probe asks to acknowledge: enough that
// one slow or leaving peer does not fail the probe, few enough that a
// probe costs a constant 1 + 3 messages whatever the mesh size. The wire
// protocol allows no more.
const MaxResponders = wire.MaxResponders

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

// PeerSource lists peers known to be in the mesh by other means, such as
// their summaries (summary.Book). They widen the choice of responders
// beyond the direct neighbours.
type PeerSource interface {
	KnownPeers() []peer.ID
}

// PubSubConfig configures the pubsub round-trip check.
type PubSubConfig struct {
	Interval time.Duration // default 10s
	Timeout  time.Duration // the adaptive timeout's ceiling; default 3s
	// MinPeers: with no peer on the probe topic the check fails, unless
	// this is 0 (a node run alone on purpose).
	MinPeers int
	// PeerTTL is how long a peer heard on the topic stays a candidate
	// responder; default 3 x Interval, three of its own probes.
	PeerTTL time.Duration
	// Heard reports whether any meshhealth message from a peer arrived
	// since a time (Activity.HeardSince); nil counts every failure as slow.
	Heard func(since time.Time) bool
}

// PubSubProbe is the pubsub-roundtrip check and the responder side of the
// protocol: it publishes Probe{nonce, ts, responders} naming up to three
// peers, preferably ones it is not directly connected to so the probe
// crosses hops, and passes when its own probe is delivered back to it and
// one responder's Ack arrives through the mesh. It also acks the probes of
// others that list this node.
type PubSubProbe struct {
	topic ProbeTopic
	self  peer.ID
	conns Connectedness
	known PeerSource
	cfg   PubSubConfig
	log   *slog.Logger

	adaptive    *Adaptive
	dropInbound atomic.Bool

	mu       sync.Mutex
	pending  map[string]*pendingProbe
	seen     map[peer.ID]time.Time // authors heard on the topic
	departed map[peer.ID]time.Time // said goodbye at
	cancel   context.CancelFunc
	done     chan struct{}

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

// NewPubSubRoundTrip builds the probe on a joined probe topic. known may be
// nil. Start it before the check runs.
func NewPubSubRoundTrip(topic ProbeTopic, self peer.ID, conns Connectedness, known PeerSource, cfg PubSubConfig, reg prometheus.Registerer, log *slog.Logger) (*PubSubProbe, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.PeerTTL <= 0 {
		cfg.PeerTTL = 3 * cfg.Interval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &PubSubProbe{
		topic:    topic,
		self:     self,
		conns:    conns,
		known:    known,
		cfg:      cfg,
		log:      log,
		adaptive: NewAdaptive(AdaptiveFloor, cfg.Timeout),
		pending:  map[string]*pendingProbe{},
		seen:     map[peer.ID]time.Time{},
		departed: map[peer.ID]time.Time{},
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
	if err := register(reg, p.rtt, p.acksIn, p.published, p.dropped, p.timeoutSec); err != nil {
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
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	p.mu.Lock()
	p.cancel, p.done = cancel, done
	p.mu.Unlock()
	go func() {
		defer close(done)
		defer sub.Cancel()
		for {
			msg, err := sub.Next(ctx)
			if err != nil {
				return
			}
			p.handle(ctx, msg)
		}
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
// topic's validator (Validator) ignores every message from a remote peer,
// so nothing reaches this node on that topic and it forwards nothing.
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

// Forget drops a peer that said goodbye (summary.Book.OnGoodbye): it is not
// chosen as a responder any more, and a probe waiting only on leavers is
// sent again to others rather than failed.
func (p *PubSubProbe) Forget(id peer.ID) {
	p.mu.Lock()
	delete(p.seen, id)
	p.departed[id] = time.Now()
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
	switch m := m.(type) {
	case *wire.Probe:
		if author == p.self {
			p.localDelivery(m.Nonce)
			return
		}
		p.noteSeen(author, m.Time())
		if slices.Contains(m.Responders, p.self) {
			p.sendAck(ctx, m.Nonce, author)
		}
	case *wire.Ack:
		if author == p.self {
			return
		}
		p.noteSeen(author, m.Time())
		if m.ProbeFrom == p.self {
			p.ackReceived(m.Nonce, author)
		}
	}
}

func (p *PubSubProbe) sendAck(ctx context.Context, nonce string, to peer.ID) {
	data, err := encodeAck(p.self, time.Now(), nonce, to)
	if err != nil {
		p.log.Error("encoding ack", "err", err)
		return
	}
	if err := p.topic.Publish(ctx, data); err != nil {
		p.log.Debug("publishing ack", "to", to, "err", err)
		return
	}
	p.published.WithLabelValues("ack").Inc()
}

func (p *PubSubProbe) noteSeen(id peer.ID, written time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if at, ok := p.departed[id]; ok {
		// Only a message written after its goodbye means it is back; one
		// still in flight from before does not.
		if written.Before(at) {
			return
		}
		delete(p.departed, id)
	}
	p.seen[id] = now
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

// candidates are the peers a probe may ask: topic peers, authors heard on
// the topic within PeerTTL and peers known from elsewhere, less this node
// and the peers that said goodbye.
func (p *PubSubProbe) candidates(topicPeers []peer.ID) []peer.ID {
	set := map[peer.ID]bool{}
	for _, id := range topicPeers {
		set[id] = true
	}
	if p.known != nil {
		for _, id := range p.known.KnownPeers() {
			set[id] = true
		}
	}
	now := time.Now()
	p.mu.Lock()
	for id, at := range p.seen {
		if now.Sub(at) > p.cfg.PeerTTL {
			delete(p.seen, id)
			continue
		}
		set[id] = true
	}
	for id, at := range p.departed {
		if now.Sub(at) > p.cfg.PeerTTL {
			delete(p.departed, id)
			continue
		}
		delete(set, id)
	}
	p.mu.Unlock()
	delete(set, p.self)
	out := make([]peer.ID, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	return out
}

// pickResponders chooses up to n peers at random, those without a direct
// connection first: their acks must cross at least two hops, so the probe
// tests the mesh's forwarding and not only a neighbour's link.
func pickResponders(cands []peer.ID, direct func(peer.ID) bool, n int, rng *mrand.Rand) []peer.ID {
	c := slices.Clone(cands)
	rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	slices.SortStableFunc(c, func(a, b peer.ID) int {
		da, db := direct(a), direct(b)
		switch {
		case da == db:
			return 0
		case !da:
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
		Timeout:     p.cfg.Timeout,
		Critical:    true,
		LatencySLO:  500 * time.Millisecond,
		Checker:     p.run,
	}
}

// maxAttempts bounds re-sending when every responder leaves mid-probe.
const maxAttempts = 2

func (p *PubSubProbe) run(ctx context.Context) health.Result {
	return p.adaptive.Bound(ctx, p.timeoutSec, p.heard, p.probe)
}

// heard tells a slow mesh from a silent one after a failed round-trip: if
// any meshhealth message from a peer arrived since start (the leader's
// heartbeat comes every second), the mesh is alive and merely slow, and the
// next wait stretches; a partitioned node hears nothing and keeps DESIGN's
// fast confirmation (three waits at the floor).
func (p *PubSubProbe) heard(start time.Time) bool {
	return p.cfg.Heard == nil || p.cfg.Heard(start)
}

// probe is one round-trip (or two, when every responder leaves) within
// wait (ctx carries the deadline).
func (p *PubSubProbe) probe(ctx context.Context, wait time.Duration) health.Result {
	details := map[string]any{
		"local_delivery": false, "acks_received": 0, "acks_expected": 0,
		"responders": []string{}, "timeout_ms": wait.Milliseconds(),
	}
	fail := func(format string, a ...any) health.Result {
		return health.Result{Message: fmt.Sprintf(format, a...), Details: details}
	}
	if !p.running() {
		return fail("not subscribed to %s", wire.TopicProbe)
	}
	topicPeers := p.topic.ListPeers()
	details["topic_peers"] = len(topicPeers)
	if len(topicPeers) == 0 && p.cfg.MinPeers > 0 {
		return fail("no peers on %s", wire.TopicProbe)
	}
	rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	var excluded []peer.ID
	for attempt := 1; ; attempt++ {
		cands := slices.DeleteFunc(p.candidates(topicPeers), func(id peer.ID) bool { return slices.Contains(excluded, id) })
		responders := pickResponders(cands, p.isDirect, MaxResponders, rng)
		if len(responders) == 0 && len(topicPeers) > 0 {
			return fail("no responder left to ask")
		}
		r, allGone := p.attempt(ctx, responders, details, wait)
		if !allGone || attempt == maxAttempts {
			return r
		}
		excluded = append(excluded, responders...)
		p.log.Debug("every responder left mid-probe; asking others", "responders", responders)
	}
}

// attempt publishes one probe and waits for the outcome. allGone reports a
// failure because every responder said goodbye, which is not the mesh's
// fault.
func (p *PubSubProbe) attempt(ctx context.Context, responders []peer.ID, details map[string]any, wait time.Duration) (r health.Result, allGone bool) {
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

	data, err := encodeProbe(p.self, time.Now(), nonce, responders)
	if err != nil {
		return health.Result{Message: "encoding probe: " + err.Error(), Err: err, Details: details}, false
	}
	start := time.Now()
	if err := p.topic.Publish(ctx, data); err != nil {
		err = fmt.Errorf("publish probe on %s: %w", wire.TopicProbe, err)
		return health.Result{Message: err.Error(), Err: err, Details: details}, false
	}
	p.published.WithLabelValues("probe").Inc()

	for {
		pp.mu.Lock()
		local, acks, gone := pp.local, slices.Clone(pp.acks), len(pp.gone)
		pp.mu.Unlock()
		details["local_delivery"] = local
		details["acks_received"] = len(acks)
		if local && (len(responders) == 0 || len(acks) > 0) {
			r := health.Result{Healthy: true, Details: details}
			if len(acks) == 0 {
				r.Message = "own probe delivered; no peers to ask (min_peers 0)"
				return r, false
			}
			rtt := acks[0].at.Sub(start)
			p.rtt.Observe(rtt.Seconds())
			p.adaptive.Observe(rtt)
			details["rtt_ms"] = float64(rtt.Microseconds()) / 1000
			details["acked_by"] = acks[0].from.String()
			r.Latency = rtt
			r.Message = fmt.Sprintf("ack from %s in %s", short(acks[0].from.String()), rtt.Round(100*time.Microsecond))
			return r, false
		}
		if len(responders) > 0 && gone == len(responders) && len(acks) == 0 {
			return health.Result{Message: "every responder left before acking", Details: details}, true
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
			return health.Result{Message: msg, Details: details}, false
		}
	}
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
