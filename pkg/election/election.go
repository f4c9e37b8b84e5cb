package election

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/status"
	"github.com/prometheus/client_golang/prometheus"
)

// LocalView is what the election needs to know about its own node. Its
// methods are called on every message and tick, so they must be cheap and
// must not block (the health manager's published snapshot).
type LocalView interface {
	// HealthStatus is the node's health status; "unhealthy" never stands
	// and a leader that turns unhealthy resigns.
	HealthStatus() status.Status
	HealthScore() float64
	ConnectedPeers() int
}

// HeadroomView is an optional extension of LocalView: the node's resource
// headroom in [0, 1] (1 = far from every limit), the resource term of the
// candidate score. Without it the term counts as full.
type HeadroomView interface {
	ResourceHeadroom() float64
}

// MembersView is an optional extension of LocalView: the node's liveness
// view of the mesh, fed by every message heard over multi-hop gossip (by
// its author, not the neighbour that forwarded it). Its members count
// toward every majority, and decide who stands first in a mesh starting at
// once; on a mesh of bounded degree the connections are only the node's
// neighbourhood. Without it the election counts the members it heard on its
// own topic, and every starting node stands at its bootstrap deadline.
type MembersView interface {
	// Members is this node and every peer alive or suspect.
	Members() int
	// MemberIDs lists the peers alive or suspect. It is called only while
	// the node is starting.
	MemberIDs() []peer.ID
}

// GoneView is an optional extension of LocalView: the node's liveness view
// of its peers. A member it holds dead or departed leaves the quorum at
// once instead of after the member TTL.
type GoneView interface {
	Gone(peer.ID) bool
}

// SuspectView is an optional extension of LocalView: the peers the node's
// liveness view suspects. A leader leaves them out of the majority it must
// hold, until the view confirms them dead or hears them again.
type SuspectView interface {
	Suspected(peer.ID) bool
	// Suspects is how many of the members (MembersView) are suspect.
	Suspects() int
}

// AwareView is an optional extension of LocalView: this process's account
// of its own stalls and starvation (pkg/awareness). A follower does not
// count the time it could not run toward its leader's silence.
type AwareView interface {
	Lost(from, to time.Time) time.Duration
}

// Election runs the election on one node: it joins the election topic,
// validates its messages, feeds the state machine and publishes what the
// machine says, and keeps an atomic snapshot of the state.
type Election struct {
	cfg   Config
	self  peer.ID
	view  LocalView
	log   *slog.Logger
	ps    *pubsub.PubSub
	topic *pubsub.Topic
	met   *metrics

	state     atomic.Pointer[State]
	startedAt time.Time // written once, before the first state is stored
	frozen    atomic.Bool
	wake      chan struct{}
	resign    chan resignRequest

	mu      sync.Mutex // guards started, closed, cancel, sub and subscribers
	started bool
	closed  bool
	cancel  context.CancelFunc
	sub     *pubsub.Subscription
	done    chan struct{}
	subs    map[int]*subscriber
	nextSub int
}

type resignRequest struct {
	ctx  context.Context
	done chan error
}

type inbound struct {
	from peer.ID
	msg  wire.Message
}

// publishTimeout bounds one publish: a pubsub that cannot take a message
// within a heartbeat interval is not going to deliver it in time anyway.
func (e *Election) publishTimeout() time.Duration { return e.cfg.HeartbeatInterval }

// New joins the election topic and registers its validator. The election
// does nothing until Start. wm is the node's shared wire metrics (may be
// nil); the election's own metrics go on reg (nil: not exported).
func New(cfg Config, ps *pubsub.PubSub, self peer.ID, view LocalView, wm *wire.Metrics,
	reg prometheus.Registerer, log *slog.Logger, opts ...Option) (*Election, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("election config: %w", err)
	}
	if ps == nil || view == nil || self == "" {
		return nil, errors.New("election: pubsub, local view and peer ID are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "election")
	e := &Election{cfg: cfg, self: self, view: view, log: log, ps: ps,
		wake: make(chan struct{}, 1), resign: make(chan resignRequest), subs: map[int]*subscriber{}}

	var o options
	for _, opt := range opts {
		opt(&o)
	}
	v := wire.NewValidator(wire.TopicElection, wire.ValidatorOptions{Self: self, Metrics: wm, Logger: log})
	if o.wrapValidator != nil {
		v = o.wrapValidator(v)
	}
	if err := ps.RegisterTopicValidator(wire.TopicElection, v); err != nil {
		return nil, fmt.Errorf("election: register validator on %s: %w", wire.TopicElection, err)
	}
	topic, err := ps.Join(wire.TopicElection)
	if err != nil {
		_ = ps.UnregisterTopicValidator(wire.TopicElection)
		return nil, fmt.Errorf("election: join %s: %w", wire.TopicElection, err)
	}
	e.topic = topic
	if e.met, err = newMetrics(reg, e.State); err != nil {
		_ = topic.Close()
		_ = ps.UnregisterTopicValidator(wire.TopicElection)
		return nil, err
	}
	return e, nil
}

// Start subscribes and starts the election. ctx bounds only the start: the
// election runs until Close (fx cancels a start context when start ends).
func (e *Election) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started || e.closed {
		e.mu.Unlock()
		return errors.New("election: already started or closed")
	}
	if err := ctx.Err(); err != nil {
		e.mu.Unlock()
		return err
	}
	sub, err := e.topic.Subscribe()
	if err != nil {
		e.mu.Unlock()
		return fmt.Errorf("election: subscribe %s: %w", wire.TopicElection, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.started, e.cancel, e.sub, e.done = true, cancel, sub, make(chan struct{})
	e.startedAt = time.Now()
	e.mu.Unlock()

	seed := fnv.New64a()
	seed.Write([]byte(e.self))
	m := newMachine(e.cfg, e.self, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), seed.Sum64())))
	m.setInputs(e.inputs(m))
	now := e.startedAt
	m.start(now)
	e.publishState(m, now)

	inbox := make(chan inbound, 64)
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		e.read(runCtx, sub, inbox)
	}()
	go func() {
		defer close(e.done)
		e.run(runCtx, m, inbox)
		readers.Wait()
	}()
	e.log.Debug("election started", "self", e.self)
	return nil
}

// read turns the subscription into decoded messages from other peers.
func (e *Election) read(ctx context.Context, sub *pubsub.Subscription, inbox chan<- inbound) {
	for {
		msg, err := sub.Next(ctx)
		if err != nil {
			return
		}
		from := msg.GetFrom()
		if from == e.self {
			continue
		}
		m, ok := msg.ValidatorData.(wire.Message)
		if !ok {
			// Our validator always sets it; decode anyway rather than
			// trust bytes some other validator let through.
			if m, err = wire.Decode(wire.TopicElection, msg.GetData()); err != nil || m.Head().Origin != from {
				continue
			}
		}
		select {
		case inbox <- inbound{from, m}:
		case <-ctx.Done():
			return
		}
	}
}

// run is the only goroutine that touches the machine.
func (e *Election) run(ctx context.Context, m *machine, inbox <-chan inbound) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var req *resignRequest
		var msg *inbound
		select {
		case <-ctx.Done():
			return
		case in := <-inbox:
			msg = &in
		case <-timer.C:
		case <-e.wake:
		case r := <-e.resign:
			req = &r
		}
		now := time.Now()
		// Once per message or tick: the inputs read the whole liveness
		// view, and reading them again between step and tick cost a 100-node
		// simulated mesh 5 % of its CPU.
		m.setInputs(e.inputs(m))
		m.freeze(e.frozen.Load())
		if msg != nil {
			m.step(now, msg.from, msg.msg)
		}
		if req != nil {
			if m.withdraw(now) {
				e.log.Info("resigning leadership", "term", m.leaderTerm)
			}
		}
		m.tick(now)
		pubCtx := ctx
		if req != nil {
			pubCtx = req.ctx
		}
		err := e.flush(pubCtx, m)
		e.publishState(m, now)
		if req != nil {
			req.done <- err
		}
		timer.Reset(max(m.next(now).Sub(now), time.Millisecond))
	}
}

// flush publishes the machine's messages and accounts for its events. It
// returns the first publish error.
func (e *Election) flush(ctx context.Context, m *machine) error {
	out, events := m.ready()
	for _, ev := range events {
		e.met.event(ev)
		switch ev.kind {
		case eventChange:
			e.log.Info("leader changed", "leader", m.leader, "term", m.leaderTerm, "self", m.leader == e.self)
		case eventStepDown:
			e.log.Info("stepped down", "term", m.leaderTerm, "reason", ev.reason)
		case eventCandidacy:
			e.log.Debug("standing for leader", "term", m.stoodTerm, "trigger", ev.reason)
		}
	}
	var first error
	for _, msg := range out {
		data, err := wire.Encode(msg)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, e.publishTimeout())
			err = e.topic.Publish(pctx, data)
			cancel()
		}
		if err != nil {
			e.met.publishErrors.Inc()
			e.log.Debug("publish failed", "type", msg.Type(), "err", err)
			if first == nil {
				first = fmt.Errorf("election: publish %s: %w", msg.Type(), err)
			}
		}
	}
	return first
}

func (e *Election) inputs(m *machine) inputs {
	in := inputs{
		Status:         e.view.HealthStatus(),
		HealthScore:    e.view.HealthScore(),
		ConnectedPeers: e.view.ConnectedPeers(),
		Headroom:       1,
	}
	if h, ok := e.view.(HeadroomView); ok {
		in.Headroom = h.ResourceHeadroom()
	}
	if g, ok := e.view.(GoneView); ok {
		in.Gone = g.Gone
	}
	if av, ok := e.view.(AwareView); ok {
		in.Lost = av.Lost
	}
	if sv, ok := e.view.(SuspectView); ok {
		in.Suspected, in.Suspects = sv.Suspected, sv.Suspects()
	}
	if v, ok := e.view.(MembersView); ok {
		in.Members = v.Members()
		if m.starting() {
			in.Outranked = outranked(e.self, v.MemberIDs())
		}
	}
	return in
}

// publishState stores the snapshot, updates gauges and tells subscribers
// when leader, term or role changed.
func (e *Election) publishState(m *machine, now time.Time) {
	st := m.state(now)
	prev := e.state.Swap(&st)
	e.met.observe(st)
	if prev != nil && prev.Leader == st.Leader && prev.Term == st.Term &&
		prev.IsLeader == st.IsLeader && prev.HaveLeader == st.HaveLeader {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.subs {
		s.offer(st)
	}
}

// State returns the election's state as of the last event, with the
// heartbeat age brought up to now. It never blocks.
func (e *Election) State() State {
	p := e.state.Load()
	if p == nil {
		return State{}
	}
	st := *p
	ref := st.LastHeartbeat
	if ref.IsZero() {
		ref = e.startedAt
	}
	st.HeartbeatAge = max(time.Since(ref), 0)
	return st
}

// Resign steps down if this node leads, publishing a Resign so that the
// others elect a successor at once rather than after the heartbeat timeout,
// and withdraws the node from future candidacy: it is meant for the
// shutdown's pre-shutdown hook. On a node that does not lead it publishes
// nothing.
func (e *Election) Resign(ctx context.Context) error {
	e.mu.Lock()
	running := e.started && !e.closed
	done := e.done
	e.mu.Unlock()
	if !running {
		return nil
	}
	req := resignRequest{ctx: ctx, done: make(chan error, 1)}
	select {
	case e.resign <- req:
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("election: resign: %w", ctx.Err())
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("election: resign: %w", ctx.Err())
	}
}

// FreezeHeartbeats is the freeze-heartbeats fault: a leader stops
// publishing heartbeats while it still believes it leads, so the mesh's
// detection of a silent leader can be measured end to end.
func (e *Election) FreezeHeartbeats(on bool) {
	e.frozen.Store(on)
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Close stops the election, leaves the topic and unregisters the
// validator. It does not resign: call Resign first to hand over.
func (e *Election) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	started, cancel, sub, done := e.started, e.cancel, e.sub, e.done
	for id, s := range e.subs {
		s.stop()
		delete(e.subs, id)
	}
	e.mu.Unlock()

	if started {
		cancel()
		<-done
		sub.Cancel()
		// Wait until pubsub has dropped the subscription, or closing the
		// topic fails for an outstanding subscriber.
		drain, stop := context.WithTimeout(context.Background(), time.Second)
		for {
			if _, err := sub.Next(drain); err != nil {
				break
			}
		}
		stop()
	}
	var errs []error
	if err := e.topic.Close(); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("election: close topic: %w", err))
	}
	if err := e.ps.UnregisterTopicValidator(wire.TopicElection); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("election: unregister validator: %w", err))
	}
	e.met.unregister()
	return errors.Join(errs...)
}
