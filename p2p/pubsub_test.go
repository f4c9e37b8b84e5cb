package p2p

import (
	"bytes"
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

func TestGossipSubCarriesAFullWireMessageButNotAMegabyte(t *testing.T) {
	const topic = "meshhealth/test/v1"
	nodes := startMesh(t, 2)
	topics, subs := subscribeAll(t, nodes, topic)
	deliverToAll(t, nodes, topics, subs, 0) // the mesh carries small messages

	t.Run("a wire message of the largest size crosses", func(t *testing.T) {
		big := bytes.Repeat([]byte{'x'}, wire.MaxSize)
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		defer cancel()
		if err := topics[0].Publish(ctx, big); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := subs[1].Next(ctx)
			if err != nil {
				t.Fatalf("a %d-byte message never arrived: %v", len(big), err)
			}
			if len(m.Data) == len(big) {
				return
			}
		}
	})

	t.Run("a peer with the library default cannot make the node read a megabyte", func(t *testing.T) {
		mn := mocknet.New()
		t.Cleanup(func() { mn.Close() })
		h, err := mn.GenPeer()
		if err != nil {
			t.Fatal(err)
		}
		// nodes[1] lives on another mocknet; a third node on this one
		// stands in for it, built by Start as every node is.
		ours, err := mn.GenPeer()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mn.LinkPeers(h.ID(), ours.ID()); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.MDNS = false
		n, err := Start(t.Context(), ours, cfg, nil, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		ps, err := pubsub.NewGossipSub(t.Context(), h) // 1 MiB default
		if err != nil {
			t.Fatal(err)
		}
		tp, _ := ps.Join(topic)
		ourTopic, _ := n.PubSub.Join(topic)
		sub, err := ourTopic.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Cancel()
		if _, err := mn.ConnectPeers(h.ID(), ours.ID()); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, 10*time.Second, "the peer sees the node on the topic", func() bool {
			return len(tp.ListPeers()) > 0
		})
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		defer cancel()
		// Small messages first, until one arrives: the path works.
		got := make(chan *pubsub.Message, 16)
		go func() {
			for {
				m, err := sub.Next(ctx)
				if err != nil {
					close(got)
					return
				}
				got <- m
			}
		}()
	small:
		for {
			if err := tp.Publish(ctx, []byte("small")); err != nil {
				t.Fatal(err)
			}
			select {
			case <-got:
				break small
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("no small message arrived")
			}
		}
		if err := tp.Publish(ctx, bytes.Repeat([]byte{'x'}, 1<<20-1<<10)); err != nil {
			t.Fatal(err)
		}
		// A bounded wait: this can only pass wrongly (on a machine so slow
		// that a megabyte takes longer), never fail wrongly.
		wait := time.After(3 * time.Second)
		for {
			select {
			case m, ok := <-got:
				if ok && len(m.Data) > MaxRPCSize {
					t.Fatalf("a %d-byte message was read and delivered", len(m.Data))
				}
			case <-wait:
				return
			}
		}
	})
}
