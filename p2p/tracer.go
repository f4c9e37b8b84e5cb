package p2p

import (
	"fmt"
	"slices"
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/metrics"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

// pubsubMetrics is a GossipSub RawTracer that exports two things
// go-libp2p-pubsub keeps to itself: how many messages a node takes in on
// each meshhealth topic, and how many peers its GossipSub mesh holds per
// topic. The first is the per-node intake that the health layer's cost
// follows; the second shows whether the mesh formed at all (a node whose
// mesh is empty receives only what lazy gossip repairs).
//
// Only the topics it was built with are counted: anything else a node may
// join is none of meshhealth's business, and a fixed label set keeps the
// series count bounded whatever peers send.
type pubsubMetrics struct {
	noopTracer
	topics    []string
	received  *prometheus.CounterVec
	meshPeers *prometheus.GaugeVec
	resyncs   prometheus.Counter

	// GossipSub calls the mesh hooks from its event loop and the message
	// hooks from its validation workers; the lock covers mesh only.
	mu   sync.Mutex
	mesh map[string]map[peer.ID]struct{}
}

var _ pubsub.RawTracer = (*pubsubMetrics)(nil)

// newPubSubMetrics registers meshhealth_pubsub_messages_received_total and
// meshhealth_gossipsub_mesh_peers on reg with a series for each topic at 0,
// so a node that has heard nothing yet says so rather than showing nothing.
func newPubSubMetrics(reg prometheus.Registerer, topics []string) (*pubsubMetrics, error) {
	m := &pubsubMetrics{
		topics: slices.Clone(topics),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "meshhealth",
			Subsystem: "pubsub",
			Name:      "messages_received_total",
			Help:      "Messages received from peers on each meshhealth topic, first receipt only (duplicates excluded), whether the validators then accept them or not.",
		}, []string{"topic"}),
		meshPeers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "meshhealth",
			Subsystem: "gossipsub",
			Name:      "mesh_peers",
			Help:      "Peers in this node's GossipSub mesh for each meshhealth topic.",
		}, []string{"topic"}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "meshhealth",
			Subsystem: "gossipsub",
			Name:      "resyncs_total",
			Help:      "Connected peers disconnected because GossipSub had forgotten their subscriptions (its stream to them died while another connection stayed), so that both sides start afresh.",
		}),
		mesh: map[string]map[peer.ID]struct{}{},
	}
	for _, t := range m.topics {
		m.received.WithLabelValues(t)
		m.meshPeers.WithLabelValues(t).Set(0)
		m.mesh[t] = map[peer.ID]struct{}{}
	}
	if err := metrics.Register(reg, m.received, m.meshPeers, m.resyncs); err != nil {
		return nil, fmt.Errorf("register pubsub metrics: %w", err)
	}
	return m, nil
}

// ValidateMessage counts a received message. Of the hooks GossipSub offers,
// it is the one that fires exactly once per message from a peer:
// go-libp2p-pubsub calls it (validation.go, validate) after the signature
// check and after marking the message ID seen, and only for the first copy;
// later copies go to DuplicateMessage instead. Its tracer wrapper skips the
// node's own publications (ReceivedFrom == self). It fires before our topic
// validators run, so rejected messages count too, as they cost the same
// intake. DeliverMessage would miss rejected ones, and DeliverMessage plus
// RejectMessage would count rejections that happen before the seen check
// (missing or bad signature, full validation queue) once per copy.
//
// The direct probe topics, one per node, count under their family: one
// series, not one per peer.
func (m *pubsubMetrics) ValidateMessage(msg *pubsub.Message) {
	t := wire.TopicFamily(msg.GetTopic())
	if slices.Contains(m.topics, t) {
		m.received.WithLabelValues(t).Inc()
	}
}

// Graft adds p to topic's mesh. GossipSub may report a graft for a peer
// already there (a GRAFT from a peer we grafted), so the mesh is a set.
func (m *pubsubMetrics) Graft(p peer.ID, topic string) {
	m.update(topic, func(s map[peer.ID]struct{}) { s[p] = struct{}{} })
}

// Prune removes p from topic's mesh; GossipSub also reports a PRUNE from a
// peer that was not in it.
func (m *pubsubMetrics) Prune(p peer.ID, topic string) {
	m.update(topic, func(s map[peer.ID]struct{}) { delete(s, p) })
}

// Leave: leaving a topic empties its mesh. GossipSub reports a Prune for
// each peer as well; emptying here keeps the gauge right regardless.
func (m *pubsubMetrics) Leave(topic string) {
	m.update(topic, func(s map[peer.ID]struct{}) { clear(s) })
}

// OnClosedOutboundStream is GossipSub's peer-down event (RemovePeer in
// older versions): the router drops the peer from every mesh without a
// Prune for each, so the gauge must do the same.
func (m *pubsubMetrics) OnClosedOutboundStream(p peer.ID) {
	for _, t := range m.topics {
		m.update(t, func(s map[peer.ID]struct{}) { delete(s, p) })
	}
}

func (m *pubsubMetrics) update(topic string, change func(map[peer.ID]struct{})) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.mesh[topic]
	if !ok {
		return
	}
	change(s)
	m.meshPeers.WithLabelValues(topic).Set(float64(len(s)))
}

// meshSnapshot copies the mesh: topic → its peers, sorted.
func (m *pubsubMetrics) meshSnapshot() map[string][]peer.ID {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]peer.ID, len(m.mesh))
	for t, s := range m.mesh {
		ps := make([]peer.ID, 0, len(s))
		for p := range s {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		out[t] = ps
	}
	return out
}
