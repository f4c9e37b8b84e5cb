package wire

import (
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

type meshNode struct {
	host    host.Host
	ps      *pubsub.PubSub
	topic   *pubsub.Topic
	sub     *pubsub.Subscription
	metrics *Metrics
}

// newMesh builds n fully connected GossipSub nodes on mocknet; validated
// ones register the wire validator on TopicElection, the others publish
// whatever they are told (a misbehaving peer).
func newMesh(t *testing.T, ctx context.Context, validated []bool) []*meshNode {
	t.Helper()
	// Linked first, connected once every node speaks GossipSub: a
	// connection made earlier finds no pubsub protocol and is never retried.
	mn, err := mocknet.FullMeshLinked(len(validated))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mn.Close() })
	var nodes []*meshNode
	for i, h := range mn.Hosts() {
		ps, err := pubsub.NewGossipSub(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		n := &meshNode{host: h, ps: ps, metrics: NewMetrics(prometheus.NewRegistry())}
		if validated[i] {
			v := NewValidator(TopicElection, ValidatorOptions{Self: h.ID(), Metrics: n.metrics})
			if err := ps.RegisterTopicValidator(TopicElection, v); err != nil {
				t.Fatal(err)
			}
		}
		if n.topic, err = ps.Join(TopicElection); err != nil {
			t.Fatal(err)
		}
		if n.sub, err = n.topic.Subscribe(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.sub.Cancel)
		nodes = append(nodes, n)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		for len(n.topic.ListPeers()) < len(nodes)-1 {
			select {
			case <-ctx.Done():
				t.Fatal("topic peers never appeared")
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nodes
}

func TestMisbehavingPeerIsRejectedAndCountedOnTheMesh(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes := newMesh(t, ctx, []bool{true, true, false})
	alice, bob, mallory := nodes[0], nodes[1], nodes[2]

	publish := func(data []byte) {
		t.Helper()
		if err := mallory.topic.Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
	}
	// A publish made before the outbound streams are up is dropped, so
	// first ping until both receivers hear mallory.
	for seq := uint64(1); ; seq++ {
		publish(mustEncode(t, stamped(&Heartbeat{Term: 1, Seq: seq, Score: 0.5}, mallory.host.ID(), time.Now())))
		if heard(ctx, alice) && heard(ctx, bob) {
			break
		}
	}
	drain(alice)
	drain(bob)

	now := time.Now()
	honest := mustEncode(t, stamped(&Heartbeat{Term: 2, Seq: 1, Score: 0.5}, mallory.host.ID(), now))
	publish([]byte("not json"))
	publish(make([]byte, MaxSize+1))
	publish([]byte(`{"v":1,"type":"coronation","origin":"x","ts":1}`))
	publish(mustEncode(t, stamped(&Heartbeat{Term: 1, Seq: 9, Score: 0.5}, bob.host.ID(), now)))
	publish(mustEncode(t, stamped(&Heartbeat{Term: 1, Seq: 2, Score: 0.5}, mallory.host.ID(), now.Add(-time.Minute))))
	publish(honest)
	publish(honest) // a replay: same payload, new pubsub seqno

	wantRejected := map[string]float64{
		ReasonMalformed: 1, ReasonOversized: 1, ReasonUnknownType: 1,
		ReasonWrongOrigin: 1, ReasonStale: 1, ReasonReplayed: 1,
	}
	for _, n := range []*meshNode{alice, bob} {
		// The honest heartbeat is delivered, decoded, exactly once.
		msg, err := n.sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hb, ok := msg.ValidatorData.(*Heartbeat)
		if !ok || hb.Term != 2 || msg.GetFrom() != mallory.host.ID() {
			t.Fatalf("delivered %T %+v from %s, want mallory's honest heartbeat", msg.ValidatorData, hb, msg.GetFrom())
		}
		testkit.WaitFor(t, 20*time.Second, "every rejection counted", func() bool {
			for reason, want := range wantRejected {
				if testutil.ToFloat64(n.metrics.Collector().WithLabelValues(TopicElection, reason)) != want {
					return false
				}
			}
			return true
		})
		// Nothing else got through.
		short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
		if msg, err := n.sub.Next(short); err == nil {
			t.Errorf("delivered %q, which should have been rejected", msg.GetData())
		}
		cancelShort()
	}
}

// heard waits briefly for one message on n's subscription.
func heard(ctx context.Context, n *meshNode) bool {
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := n.sub.Next(short)
	return err == nil
}

// drain discards what n's subscription has already received.
func drain(n *meshNode) {
	for {
		short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := n.sub.Next(short)
		cancel()
		if err != nil {
			return
		}
	}
}
