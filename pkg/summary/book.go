package summary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/budget"
	"github.com/meshhealth/meshhealth/internal/fielderr"
	"github.com/meshhealth/meshhealth/internal/metrics"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/status"
)

// DefaultInterval is how often a node publishes its summary: often enough
// for a status table that follows the mesh, rare enough that 50 nodes cost
// five small messages a second.
const DefaultInterval = 10 * time.Second

// meshBudget is how many summaries a second the whole mesh may publish,
// whatever its size (docs/ARCHITECTURE.md, "Flat cost"): each node's
// interval is members/meshBudget, never below Interval. A status change
// is sent early anyway (Nudge).
const meshBudget = 1.0

// standing is how many of its intervals a peer's summary stands for, and
// how many of them a peer may stay silent before it is suspect: one lost
// summary, or two, is not a dead peer.
const standing = 3

// subscriptionBuffer absorbs a burst of summaries (a whole mesh starting at
// once) without GossipSub dropping them for a slow subscriber.
const subscriptionBuffer = 256

// Topic is the joined meshhealth/summary/v1 topic; *pubsub.Topic is one.
type Topic interface {
	Publish(ctx context.Context, data []byte, opts ...pubsub.PubOpt) error
	Subscribe(opts ...pubsub.SubOpt) (*pubsub.Subscription, error)
}

// Values is what a node says about itself in a summary.
type Values struct {
	Status     status.Status      // "" is sent as starting
	Score      float64            // system score in [0, 1]
	Components map[string]float64 // component scores in [0, 1]
	Peers      int                // connected peers
	Leader     peer.ID            // "" while none is known
	Term       uint64             // 0 while no leader is known
	Version    string
}

// Source returns the node's current values; it is called once per summary.
type Source func() Values

// Config configures a Book.
//
// The yaml, flag and usage tags make a field a setting of the node's
// configuration (node.Config binds them; the flag also names its
// MESHHEALTH_* variable); a field tagged "-" is not one.
type Config struct {
	// Interval between summaries; default DefaultInterval.
	Interval time.Duration `yaml:"summary_interval" flag:"summary-interval" usage:"how often the node publishes its summary to its peers"`
	// TTL is how long a peer's last summary stands without a newer one;
	// default 3 x Interval, so one lost summary does not drop a peer. With
	// Members set it is 3 x the current interval.
	TTL time.Duration `yaml:"-" flag:"-"`
	// Members, when set, counts the nodes of the mesh (the liveness view's
	// Members): summaries then go out as often as the mesh's budget allows,
	// never more often than Interval.
	Members func() int `yaml:"-" flag:"-"`
	// MinGap is the shortest gap between two summaries when Nudge asks for
	// one early (a status change); default Interval / 2.
	MinGap time.Duration `yaml:"-" flag:"-"`
}

// DefaultConfig publishes every DefaultInterval; TTL and MinGap follow
// the interval (New).
func DefaultConfig() Config { return Config{Interval: DefaultInterval} }

// Validate judges the settings as an operator wrote them, one
// fielderr.Error each. (New fills the zero fields a Go literal leaves;
// a setting of 0 is a mistake, not a request for the default.)
func (c Config) Validate() error {
	var errs fielderr.List
	if c.Interval <= 0 {
		errs.Add("Interval", "must be > 0, got %v", c.Interval)
	}
	return errs.Err()
}

// withDefaults fills the zero fields: the interval from DefaultConfig,
// the rest from the interval.
func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultConfig().Interval
	}
	if c.TTL <= 0 {
		c.TTL = standing * c.Interval
	}
	if c.MinGap <= 0 {
		c.MinGap = c.Interval / 2
	}
	return c
}

// Entry is the latest summary heard from one peer.
type Entry struct {
	Peer       peer.ID
	Summary    wire.Summary
	ReceivedAt time.Time
}

// Book publishes this node's summaries and keeps its peers'.
type Book struct {
	topic  Topic
	self   peer.ID
	source Source
	cfg    Config
	log    *slog.Logger

	mu        sync.Mutex
	latest    map[peer.ID]Entry
	departed  map[peer.ID]time.Time // goodbye's ts, to ignore summaries written before it
	onGoodbye []func(peer.ID)
	lastSeq   uint64
	lastPub   time.Time
	leaving   bool
	nudge     chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}

	published *prometheus.CounterVec
	goodbyes  prometheus.Counter
	known     prometheus.GaugeFunc
}

// New builds a Book on a joined summary topic. Start it to publish and
// listen. reg and log may be nil.
func New(topic Topic, self peer.ID, source Source, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Book, error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Book{
		topic:    topic,
		self:     self,
		source:   source,
		cfg:      cfg,
		log:      log,
		latest:   map[peer.ID]Entry{},
		departed: map[peer.ID]time.Time{},
		nudge:    make(chan struct{}, 1),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshhealth_summary_messages_published_total",
			Help: "Messages this node published on the summary topic, by type (summary, goodbye).",
		}, []string{"type"}),
		goodbyes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshhealth_summary_goodbyes_received_total",
			Help: "Goodbyes received from peers leaving on purpose.",
		}),
	}
	b.known = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "meshhealth_summary_known_peers",
		Help: "Peers whose summary is current (heard within the TTL).",
	}, func() float64 { return float64(len(b.Peers())) })
	for _, t := range []string{wire.TypeSummary, wire.TypeGoodbye} {
		b.published.WithLabelValues(t)
	}
	if err := metrics.Register(reg, b.published, b.goodbyes, b.known); err != nil {
		return nil, fmt.Errorf("summary metrics: %w", err)
	}
	return b, nil
}

// Start subscribes to the topic, publishes a first summary at once and
// then one per interval, until Close. ctx bounds the start only (fx cancels
// its start context once the app is up); its values are kept.
func (b *Book) Start(ctx context.Context) error {
	sub, err := b.topic.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", wire.TopicSummary, err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	b.mu.Lock()
	b.cancel, b.done = cancel, done
	b.mu.Unlock()

	var wg sync.WaitGroup
	wg.Go(func() {
		defer sub.Cancel()
		for {
			msg, err := sub.Next(ctx)
			if err != nil {
				return
			}
			b.handle(msg)
		}
	})
	wg.Go(func() { b.publishLoop(ctx) })
	go func() { wg.Wait(); close(done) }()
	return nil
}

// publishLoop publishes at once and then every interval (as the budget
// allows now), or early when nudged, until ctx ends or the node has said
// goodbye.
func (b *Book) publishLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		tried := time.Now()
		if err := b.Publish(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, errLeaving) {
			b.log.Warn("publishing summary", "err", err)
		}
		if !b.waitNext(ctx, t, tried) {
			return
		}
	}
}

// waitNext waits until the next summary is due: the interval as the
// members known now set it has passed since the last try, looked at again
// each time the timer fires (a node that scheduled its next summary
// knowing few members, at the configured 10 s, and has heard the mesh
// since would otherwise send it to every member at a rate the budget no
// longer allows; a summary refused after the goodbye, or failed, is tried
// again an interval later, not at once); or a nudge came (a change worth
// telling now) and MinGap has passed since the last summary sent. False
// when ctx ended.
func (b *Book) waitNext(ctx context.Context, t *time.Timer, tried time.Time) bool {
	since := func() time.Duration {
		b.mu.Lock()
		defer b.mu.Unlock()
		return time.Since(b.lastPub)
	}
	// Go 1.23 timers: Reset and Stop discard a value not yet received.
	sleep := func(d time.Duration) bool {
		t.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		wait := b.interval() - time.Since(tried)
		if wait <= 0 {
			return true
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		case <-b.nudge:
			t.Stop()
			if gap := b.cfg.MinGap - since(); gap > 0 {
				return sleep(gap)
			}
			return true
		}
	}
}

// interval is the current gap between summaries.
func (b *Book) interval() time.Duration {
	if b.cfg.Members == nil {
		return b.cfg.Interval
	}
	return budget.Interval(b.cfg.Interval, b.cfg.Members(), meshBudget)
}

// ttl is how long a peer's summary stands: three of the current intervals
// (the peer publishes on the same budget), at least the configured TTL.
func (b *Book) ttl() time.Duration {
	return max(b.cfg.TTL, standing*b.interval())
}

// Silence is how long a peer in a mesh of members nodes may go unheard
// before the liveness view suspects it (liveness.View.SilenceFor): three of
// its summary intervals, since every node publishes one per interval on the
// same budget. Long enough that a quiet healthy peer is never accused;
// frozen peers that nobody asks are still found.
func (b *Book) Silence(members int) time.Duration {
	return standing * budget.Interval(b.cfg.Interval, members, meshBudget)
}

// TTL is how long a peer's summary stands now.
func (b *Book) TTL() time.Duration { return b.ttl() }

// Nudge asks for a summary soon (within MinGap of the last one), such as
// when this node's status changed: peers then see the change in seconds,
// not one budget interval later. It never blocks.
func (b *Book) Nudge() {
	select {
	case b.nudge <- struct{}{}:
	default:
	}
}

// StatusChanged is the book's listener on this node's status
// (health.Manager.SubscribeStatus): a status change reaches the peers in
// seconds, not one (stretched) summary interval later.
func (b *Book) StatusChanged(status.Status) { b.Nudge() }

// errLeaving refuses summaries after the goodbye: one more would bring the
// node back into its peers' books as it goes.
var errLeaving = errors.New("summary: node has said goodbye")

// Close stops publishing and listening. It does not say goodbye: the
// shutdown sequence calls Goodbye first, while the mesh is still up.
func (b *Book) Close() {
	b.mu.Lock()
	cancel, done := b.cancel, b.done
	b.cancel = nil
	b.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// OnGoodbye registers fn to be called with each peer that says goodbye,
// once its entry is gone. fn must not block: it runs on the receive loop.
func (b *Book) OnGoodbye(fn func(peer.ID)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onGoodbye = append(b.onGoodbye, fn)
}

// Publish sends a summary of the source's current values now.
func (b *Book) Publish(ctx context.Context) error {
	b.mu.Lock()
	leaving := b.leaving
	b.mu.Unlock()
	if leaving {
		return errLeaving
	}
	m := toWire(b.source())
	now := time.Now()
	m.Seq = b.nextSeq(now)
	m.Stamp(b.self, now)
	data, err := wire.Encode(m)
	if err != nil {
		return err
	}
	if err := b.topic.Publish(ctx, data); err != nil {
		return fmt.Errorf("publish %s: %w", wire.TopicSummary, err)
	}
	b.mu.Lock()
	b.lastPub = now
	b.mu.Unlock()
	b.published.WithLabelValues(wire.TypeSummary).Inc()
	return nil
}

// Goodbye tells the mesh this node leaves on purpose, and stops its
// summaries. Call it early in shutdown, while the mesh still carries
// messages.
func (b *Book) Goodbye(ctx context.Context, reason string) error {
	b.mu.Lock()
	b.leaving = true
	b.mu.Unlock()
	m := &wire.Goodbye{Reason: truncate(reason, wire.MaxReasonLen)}
	m.Stamp(b.self, time.Now())
	data, err := wire.Encode(m)
	if err != nil {
		return err
	}
	if err := b.topic.Publish(ctx, data); err != nil {
		return fmt.Errorf("publish goodbye on %s: %w", wire.TopicSummary, err)
	}
	b.published.WithLabelValues(wire.TypeGoodbye).Inc()
	return nil
}

// nextSeq starts from the clock in milliseconds so that it grows across
// restarts (the wire's replay rule) and stays below 2^53.
func (b *Book) nextSeq(now time.Time) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastSeq = max(uint64(now.UnixMilli()), b.lastSeq+1)
	return b.lastSeq
}

// Latest returns the peer's current summary.
func (b *Book) Latest(id peer.ID) (Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.latest[id]
	if !ok || time.Since(e.ReceivedAt) > b.ttl() {
		return Entry{}, false
	}
	return e, true
}

// Peers returns the current summaries, sorted by peer ID.
func (b *Book) Peers() []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(time.Now())
	out := slices.Collect(maps.Values(b.latest))
	slices.SortFunc(out, func(x, y Entry) int { return strings.Compare(string(x.Peer), string(y.Peer)) })
	return out
}

// KnownPeers lists the peers with a current summary.
func (b *Book) KnownPeers() []peer.ID {
	es := b.Peers()
	ids := make([]peer.ID, len(es))
	for i, e := range es {
		ids[i] = e.Peer
	}
	return ids
}

func (b *Book) pruneLocked(now time.Time) {
	ttl := b.ttl()
	for id, e := range b.latest {
		if now.Sub(e.ReceivedAt) > ttl {
			delete(b.latest, id)
		}
	}
	for id, at := range b.departed {
		if now.Sub(at) > ttl {
			delete(b.departed, id)
		}
	}
}

func (b *Book) handle(msg *pubsub.Message) {
	author := msg.GetFrom()
	if author == b.self {
		return
	}
	m, err := decode(msg)
	if err != nil {
		b.log.Debug("undecodable summary-topic message", "author", author, "err", err)
		return
	}
	switch m := m.(type) {
	case *wire.Summary:
		b.store(author, m)
	case *wire.Goodbye:
		b.goodbye(author, m)
	}
}

func (b *Book) store(author peer.ID, m *wire.Summary) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if at, ok := b.departed[author]; ok {
		if m.Time().Before(at) {
			return // written before its goodbye, delivered after it
		}
		delete(b.departed, author)
	}
	if old, ok := b.latest[author]; ok && old.Summary.Seq >= m.Seq {
		return
	}
	b.latest[author] = Entry{Peer: author, Summary: *m, ReceivedAt: time.Now()}
}

// sameLeave is how far apart two goodbyes of one peer are stamped when
// they are one leave told twice (on the topic, then directly: a few
// milliseconds); the second is not counted or logged again.
const sameLeave = 10 * time.Second

func (b *Book) goodbye(author peer.ID, m *wire.Goodbye) {
	b.mu.Lock()
	if at, ok := b.departed[author]; ok && m.Time().Sub(at).Abs() < sameLeave {
		if m.Time().After(at) {
			b.departed[author] = m.Time()
		}
		b.mu.Unlock()
		return
	}
	delete(b.latest, author)
	b.departed[author] = m.Time()
	fns := slices.Clone(b.onGoodbye)
	b.mu.Unlock()
	b.goodbyes.Inc()
	b.log.Info("peer said goodbye", "peer", author, "reason", m.Reason)
	for _, fn := range fns {
		fn(author)
	}
}

// decode takes the message the topic validator decoded (ValidatorData), or
// decodes it when the topic runs without that validator; the origin must
// be the signed author either way.
func decode(msg *pubsub.Message) (wire.Message, error) {
	m, ok := msg.ValidatorData.(wire.Message)
	if !ok {
		var err error
		if m, err = wire.Decode(wire.TopicSummary, msg.GetData()); err != nil {
			return nil, err
		}
	}
	if m.Head().Origin != msg.GetFrom() {
		return nil, errors.New("origin is not the signed author")
	}
	return m, nil
}

// toWire turns the node's values into a summary its peers will accept:
// scores clamped to [0, 1], at most wire.MaxComponents components with
// valid names, leader and term both set or both empty.
func toWire(v Values) *wire.Summary {
	m := &wire.Summary{
		Status:     string(v.Status),
		Score:      clamp01(v.Score),
		Components: map[string]float64{},
		Peers:      min(max(v.Peers, 0), wire.MaxPeers),
		Leader:     v.Leader,
		Term:       min(v.Term, wire.MaxInt),
		Version:    truncate(v.Version, wire.MaxVersionLen),
	}
	if m.Status == "" {
		m.Status = string(status.Starting)
	}
	if m.Leader == "" || m.Term == 0 {
		m.Leader, m.Term = "", 0
	}
	names := slices.Sorted(maps.Keys(v.Components))
	for _, name := range names {
		if len(m.Components) == wire.MaxComponents {
			break
		}
		if validComponent(name) {
			m.Components[name] = clamp01(v.Components[name])
		}
	}
	return m
}

func clamp01(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}

func validComponent(s string) bool {
	if s == "" || len(s) > wire.MaxComponentLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes and drops what is not UTF-8 (a rune
// cut in half included): the wire refuses both.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
