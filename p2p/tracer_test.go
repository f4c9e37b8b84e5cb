package p2p

import (
	"context"
	"fmt"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

func meshPeers(m *pubsubMetrics, topic string) float64 {
	return testutil.ToFloat64(m.meshPeers.WithLabelValues(topic))
}

func received(m *pubsubMetrics, topic string) float64 {
	return testutil.ToFloat64(m.received.WithLabelValues(topic))
}

func TestPubSubMetricsFollowGraftPruneAndPeerLoss(t *testing.T) {
	m, err := newPubSubMetrics(prometheus.NewRegistry(), wire.Topics())
	if err != nil {
		t.Fatal(err)
	}
	a, b := peer.ID("peer-a"), peer.ID("peer-b")
	probe, election := wire.TopicProbe, wire.TopicElection
	steps := []struct {
		name           string
		do             func()
		probe, elected float64
	}{
		{"nothing grafted yet", func() {}, 0, 0},
		{"two grafts on probe, one on election", func() { m.Graft(a, probe); m.Graft(b, probe); m.Graft(a, election) }, 2, 1},
		{"a graft for a peer already in the mesh", func() { m.Graft(a, probe) }, 2, 1},
		{"a graft on a foreign topic", func() { m.Graft(b, "other/topic") }, 2, 1},
		{"a prune of a peer not in the mesh", func() { m.Prune(b, election) }, 2, 1},
		{"b pruned from probe", func() { m.Prune(b, probe) }, 1, 1},
		{"a's stream closes: gone from every mesh", func() { m.OnClosedOutboundStream(a) }, 0, 0},
		{"regrafted, then the topic is left", func() { m.Graft(a, probe); m.Graft(b, probe); m.Leave(probe) }, 0, 0},
	}
	for _, s := range steps {
		s.do()
		if got := meshPeers(m, probe); got != s.probe {
			t.Errorf("%s: mesh_peers{probe} = %v, want %v", s.name, got, s.probe)
		}
		if got := meshPeers(m, election); got != s.elected {
			t.Errorf("%s: mesh_peers{election} = %v, want %v", s.name, got, s.elected)
		}
	}
}

func TestPubSubMetricsCountOnlyMeshhealthTopicsAndLintClean(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newPubSubMetrics(reg, wire.Topics())
	if err != nil {
		t.Fatal(err)
	}
	msg := func(topic string) *pubsub.Message { return &pubsub.Message{Message: &pb.Message{Topic: &topic}} }
	m.ValidateMessage(msg(wire.TopicSummary))
	m.ValidateMessage(msg(wire.TopicSummary))
	m.ValidateMessage(msg("other/topic"))
	if got := received(m, wire.TopicSummary); got != 2 {
		t.Errorf("received{summary} = %v, want 2", got)
	}
	// Every meshhealth topic has its series from the start, and nothing
	// else gets one.
	if n := testutil.CollectAndCount(m.received); n != len(wire.Topics()) {
		t.Errorf("received has %d series, want one per meshhealth topic (%d)", n, len(wire.Topics()))
	}
	if n := testutil.CollectAndCount(m.meshPeers); n != len(wire.Topics()) {
		t.Errorf("mesh_peers has %d series, want %d", n, len(wire.Topics()))
	}
	testkit.Lint(t, reg)
	if _, err := newPubSubMetrics(reg, wire.Topics()); err == nil {
		t.Error("registering twice on one registry succeeded; two nodes would overwrite each other's gauges")
	}
}

// On a real GossipSub mesh: the counter moves by exactly the messages
// published, once each, though flood publishing and mesh forwarding
// deliver copies from several peers; mesh peers appear once the
// heartbeat grafts them and go when the node loses its connections.
func TestPubSubMetricsOnMocknetMesh(t *testing.T) {
	const n, sent = 4, 5
	regs := make([]*prometheus.Registry, n)
	nodes := startMeshWith(t, n, func(i int) Options {
		regs[i] = prometheus.NewRegistry()
		return Options{Registerer: regs[i]}
	})
	value := func(i int, name, topic string) float64 {
		mfs, err := regs[i].Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, s := range mf.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "topic" && l.GetValue() == topic {
						return s.GetCounter().GetValue() + s.GetGauge().GetValue()
					}
				}
			}
		}
		t.Fatalf("node %d: no %s{topic=%q}", i, name, topic)
		return 0
	}
	const recvName, meshName = "meshhealth_pubsub_messages_received_total", "meshhealth_gossipsub_mesh_peers"
	for i := range nodes {
		for _, tp := range wire.Topics() {
			if v := value(i, meshName, tp); v != 0 {
				t.Fatalf("node %d: mesh_peers{%s} = %v before joining", i, tp, v)
			}
		}
	}

	topics, subs := subscribeAll(t, nodes, wire.TopicProbe)
	for i := range nodes {
		testkit.WaitFor(t, 15*time.Second, fmt.Sprintf("node %d has mesh peers on the probe topic", i), func() bool {
			return value(i, meshName, wire.TopicProbe) >= 1
		})
	}
	testkit.WaitFor(t, 15*time.Second, "the publisher sees every other node on the topic", func() bool {
		return len(topics[0].ListPeers()) == n-1
	})
	if v := value(0, meshName, wire.TopicElection); v != 0 {
		t.Errorf("mesh_peers{election} = %v on a node that never joined it", v)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	for k := range sent {
		if err := topics[0].Publish(ctx, fmt.Appendf(nil, "m%d", k)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < n; i++ {
		for got := 0; got < sent; {
			m, err := subs[i].Next(ctx)
			if err != nil {
				t.Fatalf("node %d got %d of %d messages: %v", i, got, sent, err)
			}
			if m.GetFrom() == nodes[0].Host.ID() {
				got++
			}
		}
		if v := value(i, recvName, wire.TopicProbe); v != sent {
			t.Errorf("node %d: received{probe} = %v, want %d (first receipts only)", i, v, sent)
		}
	}
	if v := value(0, recvName, wire.TopicProbe); v != 0 {
		t.Errorf("publisher: received{probe} = %v, want 0 (its own messages are not received)", v)
	}

	nodes[3].Isolate(true)
	testkit.WaitFor(t, 15*time.Second, "an isolated node's mesh is empty", func() bool {
		return value(3, meshName, wire.TopicProbe) == 0
	})
}
