package p2p

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

func p2pAddr(t *testing.T, h host.Host) []string {
	t.Helper()
	infos, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range infos {
		out = append(out, a.String())
	}
	return out
}

// startMesh starts n nodes on a linked but unconnected mocknet; every node
// but the first bootstraps from the first, as the testnet's local mode does.
func startMesh(t *testing.T, n int) []*Node {
	t.Helper()
	return startMeshWith(t, n, func(int) Options { return Options{} })
}

// startMeshWith is startMesh with each node's Options from opts.
func startMeshWith(t *testing.T, n int, opts func(i int) Options) []*Node {
	t.Helper()
	mn, err := mocknet.FullMeshLinked(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mn.Close() })
	hosts := mn.Hosts()
	nodes := make([]*Node, n)
	for i, h := range hosts {
		cfg := DefaultConfig()
		cfg.MDNS = false
		cfg.BootstrapInterval = 50 * time.Millisecond
		if i > 0 {
			cfg.Bootstrap = p2pAddr(t, hosts[0])
		}
		node, err := Start(t.Context(), h, cfg, nil, opts(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := node.Close(); err != nil {
				t.Errorf("close node %d: %v", i, err)
			}
		})
		nodes[i] = node
	}
	testkit.WaitFor(t, 10*time.Second, "every node connected to the bootstrap node", func() bool {
		return nodes[0].ConnectedPeers() >= n-1
	})
	return nodes
}

// subscribeAll joins topic on every node.
func subscribeAll(t *testing.T, nodes []*Node, topic string) ([]*pubsub.Topic, []*pubsub.Subscription) {
	t.Helper()
	topics := make([]*pubsub.Topic, len(nodes))
	subs := make([]*pubsub.Subscription, len(nodes))
	for i, n := range nodes {
		tp, err := n.PubSub.Join(topic)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := tp.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sub.Cancel)
		topics[i], subs[i] = tp, sub
	}
	return topics, subs
}

// deliverToAll publishes from nodes[from] until every other node has received
// one of its messages: GossipSub needs a heartbeat or two to build its mesh.
func deliverToAll(t *testing.T, nodes []*Node, topics []*pubsub.Topic, subs []*pubsub.Subscription, from int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make(chan int, len(nodes))
	for i, sub := range subs {
		if i == from {
			continue
		}
		wg.Go(func() {
			for {
				m, err := sub.Next(ctx)
				if err != nil {
					return
				}
				if m.GetFrom() == nodes[from].Host.ID() {
					got <- i
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	received := map[int]bool{}
	for seq := 0; len(received) < len(nodes)-1; seq++ {
		if err := topics[from].Publish(ctx, fmt.Appendf(nil, "hello %d", seq)); err != nil {
			t.Fatalf("publish: %v", err)
		}
	wait:
		for {
			select {
			case i := <-got:
				received[i] = true
				continue
			case <-tick.C:
				break wait
			case <-ctx.Done():
				t.Fatalf("message from node %d reached only %v", from, received)
			}
		}
	}
	cancel()
	<-done
}

func TestMeshCarriesPubSubAndDHTRecordsAndSurvivesIsolation(t *testing.T) {
	nodes := startMesh(t, 4)
	topics, subs := subscribeAll(t, nodes, "meshhealth/test/v1")

	t.Run("a message published on one node reaches every other", func(t *testing.T) {
		deliverToAll(t, nodes, topics, subs, 1)
	})

	t.Run("a meshhealth record put on one node is read on another", func(t *testing.T) {
		for i, n := range nodes {
			testkit.WaitFor(t, 10*time.Second, fmt.Sprintf("node %d has DHT peers", i), func() bool {
				return n.DHT.RoutingTable().Size() > 0
			})
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		key := RecordKey(nodes[1].Host.ID(), "x")
		if err := nodes[1].DHT.PutValue(ctx, key, []byte("v1")); err != nil {
			t.Fatalf("PutValue: %v", err)
		}
		got, err := nodes[3].DHT.GetValue(ctx, key)
		if err != nil || string(got) != "v1" {
			t.Fatalf("GetValue on another node = %q, %v; want v1", got, err)
		}
		if err := nodes[1].DHT.PutValue(ctx, "/meshhealth/not-a-peer/x", []byte("v")); err == nil {
			t.Error("PutValue of a malformed meshhealth key succeeded")
		}
		if err := nodes[1].DHT.PutValue(ctx, "/ipns/"+nodes[1].Host.ID().String(), []byte("v")); err == nil {
			t.Error("PutValue in the public ipns namespace succeeded")
		}
	})

	t.Run("isolation closes every connection, reports each loss, and heals", func(t *testing.T) {
		n := nodes[3] // bootstraps from node 0, so only its own redial brings it back
		before := n.Host.Network().Peers()
		lost := make(chan peer.ID, 16)
		n.OnDisconnect(func(p peer.ID) { lost <- p })

		n.Isolate(true)
		// Mocknet hosts take no gater, so a peer's dial may still open a
		// connection that the node then closes; the refusal itself is
		// tested on real hosts (TestHost...).
		testkit.WaitFor(t, 10*time.Second, "no connection left after Isolate(true)", func() bool {
			return n.ConnectedPeers() == 0
		})
		seen := map[peer.ID]bool{}
		timeout := time.After(10 * time.Second)
		for len(seen) < len(before) {
			select {
			case p := <-lost:
				seen[p] = true
			case <-timeout:
				t.Fatalf("OnDisconnect reported %v, want all of %v", seen, before)
			}
		}

		n.Isolate(false)
		testkit.WaitFor(t, 10*time.Second, "reconnected to the bootstrap node after isolation", func() bool {
			return n.ConnectedPeers() > 0
		})
		deliverToAll(t, nodes, topics, subs, 1)
	})
}
