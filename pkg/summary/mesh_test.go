package summary

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/internal/testmesh"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

// meshBooks starts a Book on each of n mocknet nodes running real GossipSub
// with the wire validator on the summary topic.
func meshBooks(t *testing.T, n int, interval time.Duration) []*Book {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mn := testmesh.New(t)
	t.Cleanup(cancel)
	books := make([]*Book, n)
	for i, h := range testmesh.AddPeers(t, mn, n) {
		ps, err := pubsub.NewGossipSub(ctx, h,
			pubsub.WithMessageSigning(true), pubsub.WithStrictSignatureVerification(true),
			pubsub.WithFloodPublish(true), pubsub.WithPeerExchange(false))
		if err != nil {
			t.Fatal(err)
		}
		if err := ps.RegisterTopicValidator(wire.TopicSummary, wire.NewValidator(wire.TopicSummary, wire.ValidatorOptions{Self: h.ID()})); err != nil {
			t.Fatal(err)
		}
		topic, err := ps.Join(wire.TopicSummary)
		if err != nil {
			t.Fatal(err)
		}
		v := healthyValues()
		v.Peers = i // tells the nodes' summaries apart
		b, err := New(topic, h.ID(), func() Values { return v }, Config{Interval: interval}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		books[i] = b
	}
	testmesh.ConnectPairs(t, mn)
	for _, b := range books {
		if err := b.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
	}
	return books
}

func TestSummariesCrossTheMeshAndAGoodbyeRemovesTheLeaver(t *testing.T) {
	const interval = 100 * time.Millisecond
	books := meshBooks(t, 4, interval)
	testkit.WaitFor(t, 10*time.Second, "every node to hold every other's summary", func() bool {
		for _, b := range books {
			if len(b.KnownPeers()) != len(books)-1 {
				return false
			}
		}
		return true
	})
	for i, b := range books {
		for j, o := range books {
			if i == j {
				continue
			}
			e, ok := b.Latest(o.self)
			if !ok || e.Summary.Peers != j || e.Summary.Status != "healthy" {
				t.Fatalf("node %d's view of node %d: %+v", i, j, e)
			}
		}
	}

	leaver := books[3]
	var mu sync.Mutex
	var heard []int
	for i, b := range books[:3] {
		b.OnGoodbye(func(id peer.ID) {
			if id == leaver.self {
				mu.Lock()
				heard = append(heard, i)
				mu.Unlock()
			}
		})
	}
	if err := leaver.Goodbye(context.Background(), "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "every peer to hear the goodbye", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(heard) == 3
	})
	// The leaver's publisher runs until Close, yet it is not taken back:
	// it says nothing after its goodbye. Three intervals pass, measured by
	// node 1's summaries as node 0 receives them.
	e, _ := books[0].Latest(books[1].self)
	testkit.WaitFor(t, 5*time.Second, "three more summaries from node 1", func() bool {
		now, ok := books[0].Latest(books[1].self)
		// seq counts milliseconds
		return ok && now.Summary.Seq >= e.Summary.Seq+uint64(3*interval/time.Millisecond)
	})
	for i, b := range books[:3] {
		if slices.Contains(b.KnownPeers(), leaver.self) {
			t.Fatalf("node %d still lists the leaver", i)
		}
	}
}
