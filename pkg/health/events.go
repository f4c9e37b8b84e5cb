package health

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Buffer sizes of transition subscribers. Transitions are rare (a few per
// incident), so these only overflow when a consumer is stuck.
const (
	listenerBuffer = 256
	streamBuffer   = 64
)

// publish logs, counts and delivers one transition the core decided.
func (m *Manager) publish(t Transition) {
	warn := t.To == string(StatusUnhealthy) || t.To == string(StatusDegraded) || t.To == string(StateFailing)
	log := m.log.Info
	if warn {
		log = m.log.Warn
	}
	if t.Kind == "status" {
		m.metrics.transitions.WithLabelValues(t.To).Inc()
		log("health status changed", "from", t.From, "to", t.To, "cause", t.Cause)
	} else {
		log("health check state changed", "check", t.Check, "from", t.From, "to", t.To, "cause", t.Cause)
	}
	m.hub.publish(t)
}

// Subscribe registers fn to receive every transition, in order, on its own
// goroutine: a slow listener delays only itself, and if it falls more than
// 256 transitions behind, the excess is dropped (and counted). cancel stops
// the delivery; Stop ends all listeners. Stop does not wait for a listener
// that is inside fn, so fn may itself lead to Stop (a shutdown hand-off).
func (m *Manager) Subscribe(fn func(Transition)) (cancel func()) {
	sub := m.hub.subscribe(listenerBuffer, false)
	if sub == nil { // stopped
		return func() {}
	}
	go func() {
		for {
			select {
			case t := <-sub.ch:
				fn(t)
			case <-sub.done:
				return
			}
		}
	}()
	return func() { m.hub.unsubscribe(sub) }
}

// SubscribeStatus is Subscribe for the node's status alone: fn gets each
// status it enters, in order.
func (m *Manager) SubscribeStatus(fn func(Status)) (cancel func()) {
	return m.Subscribe(func(t Transition) {
		if t.Kind == "status" {
			fn(Status(t.To))
		}
	})
}

// hub fans transitions out to listeners and event streams without ever
// blocking the publisher.
type hub struct {
	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	closed  bool
	dropped prometheus.Counter
}

type subscriber struct {
	ch     chan Transition
	done   chan struct{} // closed on unsubscribe, on overflow of a stream, and on hub close
	stream bool          // an event stream is ended on overflow rather than skipping events
}

func newHub(dropped prometheus.Counter) *hub {
	return &hub{subs: map[*subscriber]struct{}{}, dropped: dropped}
}

// subscribe returns nil once the hub is closed.
func (h *hub) subscribe(buffer int, stream bool) *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	s := &subscriber{ch: make(chan Transition, buffer), done: make(chan struct{}), stream: stream}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.done)
	}
}

func (h *hub) publish(t Transition) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- t:
		default:
			h.dropped.Inc()
			if s.stream {
				// A stream that misses events would mislead its client; end
				// it so the client reconnects (and resumes by Last-Event-ID).
				delete(h.subs, s)
				close(s.done)
			}
		}
	}
}

// close ends every subscriber; later subscriptions get nil.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.done)
	}
}
