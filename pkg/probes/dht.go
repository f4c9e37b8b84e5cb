package probes

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/budget"
	"github.com/meshhealth/meshhealth/internal/metrics"
	"github.com/meshhealth/meshhealth/pkg/health"
)

// CheckDHTIntegrity is the name of the DHT integrity check.
const CheckDHTIntegrity = "dht-integrity"

// DefaultDHTReaders is how many remote peers, nearest to the key in the
// routing table, are asked for the record after the put. Three answers
// make one slow or lying peer visible without the probe costing more than
// a handful of requests per interval, whatever the mesh size.
const DefaultDHTReaders = 3

// readGrace bounds how long the probe waits for the other readers once one
// has returned the record: at least this, or as long again as the first
// answer took. A dead reader then costs a little latency, not the timeout.
const readGrace = 100 * time.Millisecond

// DHTStore is the DHT as the integrity probe uses it. KadStore adapts a
// go-libp2p-kad-dht IpfsDHT.
type DHTStore interface {
	// PutValue stores the value on remote peers closest to key, returning
	// once at least one holds it.
	PutValue(ctx context.Context, key string, value []byte) error
	// NearestPeers lists up to n remote peers of the routing table closest
	// to key, without network traffic.
	NearestPeers(key string, n int) []peer.ID
	// GetValueFrom asks one remote peer for its record under key; nil and
	// no error when it holds none. The value is returned unvalidated.
	GetValueFrom(ctx context.Context, p peer.ID, key string) ([]byte, error)
}

// dhtBudget is how many DHT integrity probes a second the whole mesh may
// run, whatever its size (docs/ARCHITECTURE.md, "Flat cost"). They use
// streams, not gossip, but each costs six requests.
const dhtBudget = 1.0

// DHTConfig configures the DHT integrity check.
type DHTConfig struct {
	Interval time.Duration // default DefaultSchedules().DHT's
	Timeout  time.Duration // the adaptive timeout's ceiling; default DefaultSchedules().DHT's
	Readers  int           // remote peers asked to read back; default DefaultDHTReaders
	// Aware is this process's awareness; while it struggles the adaptive
	// wait stretches by its scale. Nil: never stretched for it.
	Aware Aware
	// Members, when set, counts the nodes of the mesh (the liveness view's
	// Members): the probe then runs as often as dhtBudget allows, never
	// more often than Interval.
	Members func() int
	// LivePeers counts the peers alive or suspect in the liveness view.
	// With none, the probe passes with "no live peer to probe": a node
	// alone (by choice, or because its peers left) is judged by
	// p2p-connectivity and min_peers, not by a DHT with nobody in it. Nil:
	// the probe always needs a peer.
	LivePeers func() int
}

// DHTProbe is the dht-integrity check: it puts a fresh signed record under
// the node's own key and reads it back from remote peers, so a DHT that
// only works from the local store, or a peer that serves a forged or
// corrupted record, fails it.
type DHTProbe struct {
	store    DHTStore
	key      crypto.PrivKey
	dhtKey   string
	cfg      DHTConfig
	adaptive *Adaptive
	log      *slog.Logger

	failPut atomic.Bool
	lastSeq atomic.Uint64

	putSeconds prometheus.Histogram
	getSeconds prometheus.Histogram
	violations prometheus.Counter
	timeoutSec prometheus.Gauge
}

// NewDHTIntegrity builds the probe for the node whose identity is key. The
// DHT must run RecordValidator for the "meshhealth" namespace, here and on
// every peer.
func NewDHTIntegrity(store DHTStore, key crypto.PrivKey, cfg DHTConfig, reg prometheus.Registerer, log *slog.Logger) (*DHTProbe, error) {
	sched := Schedule{Interval: cfg.Interval, Timeout: cfg.Timeout}.withDefaults(DefaultSchedules().DHT)
	cfg.Interval, cfg.Timeout = sched.Interval, sched.Timeout
	if cfg.Readers <= 0 {
		cfg.Readers = DefaultDHTReaders
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("dht probe: peer ID of the node key: %w", err)
	}
	if _, err := self.ExtractPublicKey(); err != nil {
		// Peers could not verify our records without a key lookup.
		return nil, fmt.Errorf("dht probe: node ID %s must embed its public key (use Ed25519): %w", self, err)
	}
	p := &DHTProbe{
		store:    store,
		key:      key,
		dhtKey:   ProbeKey(self),
		cfg:      cfg,
		adaptive: NewAdaptive(AdaptiveFloor, cfg.Timeout, cfg.Aware),
		log:      log,
		putSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "meshhealth_dht_probe_put_seconds",
			Help:    "Duration of the DHT integrity probe's successful puts.",
			Buckets: latencyBuckets,
		}),
		getSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "meshhealth_dht_probe_get_seconds",
			Help:    "Time from the start of the DHT integrity probe's read-back to the first intact remote answer.",
			Buckets: latencyBuckets,
		}),
		violations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshhealth_dht_integrity_violations_total",
			Help: "Remote answers to the DHT integrity probe that failed verification (forged, tampered or foreign records).",
		}),
		timeoutSec: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshhealth_dht_probe_timeout_seconds",
			Help: "Current adaptive timeout of the DHT integrity probe.",
		}),
	}
	if err := metrics.Register(reg, p.putSeconds, p.getSeconds, p.violations, p.timeoutSec); err != nil {
		return nil, fmt.Errorf("dht probe metrics: %w", err)
	}
	return p, nil
}

// latencyBuckets span a LAN round-trip (milliseconds) to the DHT ceiling.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// SetFailPut is the (dht, fail-put) fault: while on, every put fails.
func (p *DHTProbe) SetFailPut(on bool) { p.failPut.Store(on) }

// Check returns the dht-integrity check.
func (p *DHTProbe) Check() health.Check {
	return health.Check{
		Name:        CheckDHTIntegrity,
		Component:   health.ComponentDHT,
		Description: "a fresh signed record put to the DHT is read back intact from a remote peer",
		Interval:    p.cfg.Interval,
		Every:       budget.Every(p.cfg.Interval, p.cfg.Members, dhtBudget),
		Timeout:     p.cfg.Timeout,
		Critical:    true,
		LatencySLO:  500 * time.Millisecond,
		Checker:     p.run,
	}
}

var errInjectedPut = errors.New("fault injected: fail-put")

// putShare is the part of a probe's time budget the put may take.
const putShare = 0.6

// nextSeq is the current time in microseconds, kept strictly increasing
// within the process; across restarts the clock keeps it increasing.
func (p *DHTProbe) nextSeq() uint64 {
	for {
		last := p.lastSeq.Load()
		seq := max(uint64(time.Now().UnixMicro()), last+1)
		if p.lastSeq.CompareAndSwap(last, seq) {
			return seq
		}
	}
}

// answer is one remote peer's reply to the read-back.
type answer struct {
	peer peer.ID
	val  []byte
	err  error
	at   time.Time
}

func (p *DHTProbe) run(ctx context.Context) health.Result {
	return p.adaptive.Bound(ctx, p.timeoutSec, nil, p.probe)
}

// probe is one put and read-back within wait (ctx carries the deadline).
func (p *DHTProbe) probe(ctx context.Context, wait time.Duration) health.Result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	details := map[string]any{"timeout_ms": wait.Milliseconds(), "remote_answers": 0, "integrity": "unverified"}
	fail := func(format string, a ...any) health.Result {
		return health.Result{Message: fmt.Sprintf(format, a...), Details: details}
	}

	if p.cfg.LivePeers != nil && p.cfg.LivePeers() == 0 && len(p.store.NearestPeers(p.dhtKey, 1)) == 0 {
		return health.Result{Healthy: true, Message: "no live peer to probe", Details: details}
	}

	payload := make([]byte, RecordPayloadSize)
	rand.Read(payload)
	seq := p.nextSeq()
	rec, err := NewProbeRecord(p.key, seq, time.Now().UnixNano(), payload)
	if err != nil {
		return fail("building probe record: %v", err)
	}
	val, err := rec.Encode()
	if err != nil {
		return fail("encoding probe record: %v", err)
	}
	details["seq"] = seq

	putStart := time.Now()
	if p.failPut.Load() {
		err = errInjectedPut
	} else {
		// kad-dht's PutValue returns only when every closest peer has
		// answered or its context ends, so one dead peer would spend the
		// whole budget here and leave the read-back none: every healthy
		// node's probe would fail with one peer cut off. The put gets
		// putShare of the budget; the read-back, which decides, the rest.
		putCtx, cancelPut := context.WithTimeout(ctx, time.Duration(float64(wait)*putShare))
		err = p.store.PutValue(putCtx, p.dhtKey, val)
		cancelPut()
	}
	putDur := time.Since(putStart)
	details["put_ms"] = putDur.Milliseconds()
	if err != nil {
		r := fail("dht put %s: %v", p.dhtKey, err)
		r.Err = fmt.Errorf("dht put %s: %w", p.dhtKey, err)
		return r
	}
	p.putSeconds.Observe(putDur.Seconds())

	readers := p.store.NearestPeers(p.dhtKey, p.cfg.Readers)
	details["asked"] = len(readers)
	if len(readers) == 0 {
		return fail("no remote DHT peer to read the record back from (a local copy does not count)")
	}
	getStart := time.Now()
	answers := make(chan answer, len(readers))
	var wg sync.WaitGroup
	for _, rp := range readers {
		wg.Go(func() {
			v, err := p.store.GetValueFrom(ctx, rp, p.dhtKey)
			answers <- answer{peer: rp, val: v, err: err, at: time.Now()}
		})
	}
	// Unblock the readers still running when we return.
	defer func() { cancel(); wg.Wait() }()

	v := p.judge(ctx, rec, val, getStart, answers, len(readers))
	for _, msg := range v.violations {
		p.violations.Inc()
		p.log.Warn("dht integrity violation", "key", p.dhtKey, "detail", msg)
	}
	details["remote_answers"] = v.good
	details["missing"] = v.missing
	details["stale"] = v.stale
	details["errors"] = v.errs
	switch {
	case len(v.violations) > 0:
		details["integrity"] = "violation"
	case v.good > 0:
		details["integrity"] = "ok"
	}
	if v.good > 0 {
		details["get_ms"] = v.firstGood.Sub(getStart).Milliseconds()
	}
	if len(v.violations) > 0 {
		return fail("integrity violation: %s", strings.Join(v.violations, "; "))
	}
	if v.good == 0 {
		return fail("no remote peer returned the record: %d asked, %d without it, %d stale, %d errors%s",
			len(readers), v.missing, v.stale, v.errs, v.firstErr())
	}
	getDur := v.firstGood.Sub(getStart)
	p.getSeconds.Observe(getDur.Seconds())
	total := putDur + getDur
	p.adaptive.Observe(total)
	return health.Result{
		Healthy: true,
		Message: fmt.Sprintf("record seq %d read back intact from %d of %d remote peers (put %s, get %s)",
			seq, v.good, len(readers), putDur.Round(time.Millisecond), getDur.Round(time.Millisecond)),
		Details: details,
		Latency: total,
	}
}

// verdict sums up the remote answers of one read-back.
type verdict struct {
	good, missing, stale, errs int
	firstGood                  time.Time
	violations                 []string
	errSamples                 []string
}

func (v *verdict) firstErr() string {
	if len(v.errSamples) == 0 {
		return ""
	}
	return " (" + v.errSamples[0] + ")"
}

// judge collects answers until all n arrived, ctx ends, or the grace after
// the first intact answer runs out.
func (p *DHTProbe) judge(ctx context.Context, rec *ProbeRecord, val []byte, getStart time.Time, answers <-chan answer, n int) verdict {
	var v verdict
	var grace <-chan time.Time // set by the first intact answer
	var graceTimer *time.Timer
	defer func() {
		if graceTimer != nil {
			graceTimer.Stop()
		}
	}()
	for range n {
		var a answer
		select {
		case a = <-answers:
		case <-ctx.Done():
			return v
		case <-grace:
			return v
		}
		switch {
		case a.err != nil:
			v.errs++
			v.errSamples = append(v.errSamples, fmt.Sprintf("%s: %v", short(a.peer.String()), a.err))
		case a.val == nil:
			v.missing++
		case bytes.Equal(a.val, val):
			v.good++
			if v.firstGood.IsZero() {
				v.firstGood = a.at
				graceTimer = time.NewTimer(max(a.at.Sub(getStart), readGrace))
				grace = graceTimer.C
			}
		default:
			p.classify(&v, a, rec)
		}
	}
	return v
}

// classify judges an answer that is not the record just put: an older
// record of ours is stale (that peer missed the put), anything that does
// not verify, or a different record with our seq, is a violation.
func (p *DHTProbe) classify(v *verdict, a answer, rec *ProbeRecord) {
	got, err := DecodeProbeRecord(a.val)
	if err == nil {
		err = VerifyProbeRecord(p.dhtKey, got)
	}
	switch {
	case err != nil:
		v.violations = append(v.violations, fmt.Sprintf("peer %s returned a record that fails verification: %v", a.peer, err))
	case got.Seq == rec.Seq:
		v.violations = append(v.violations, fmt.Sprintf("peer %s returned a different record with seq %d", a.peer, got.Seq))
	default:
		// Validly signed by us, just not this round's: older if that peer
		// missed the put, newer only after a clock step back.
		v.stale++
	}
}
