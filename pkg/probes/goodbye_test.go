package probes

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

func TestAPeerThatSaysGoodbyeIsNoLongerAskedAndNothingFails(t *testing.T) {
	const n = 5
	probes := make([]*PubSubProbe, n)
	books := make([]*summary.Book, n)
	_, nodes := newMesh(t, n, meshOptions{pubsub: true, summary: true})
	for i, nd := range nodes {
		b, err := summary.New(nd.summaries, nd.h.ID(), func() summary.Values {
			return summary.Values{Status: "healthy", Score: 1, Peers: n - 1, Version: "test"}
		}, summary.Config{Interval: 200 * time.Millisecond}, nd.reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		view := newView(t, nd)
		p, err := NewPubSubRoundTrip(nd.topic, nd.h.ID(), nd.h.Network(), view,
			PubSubConfig{Interval: 10 * time.Second, Timeout: 3 * time.Second, MinPeers: 1}, nd.reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The node's wiring: a goodbye makes the leaver "left" in the
		// liveness view (the summary validator does it there) and tells a
		// probe in flight.
		b.OnGoodbye(func(id peer.ID) {
			view.Observe(id, liveness.Goodbye, time.Now())
			p.Forget(id)
		})
		for _, start := range []func(context.Context) error{p.Start, b.Start} {
			if err := start(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(p.Close)
		t.Cleanup(b.Close)
		probes[i], books[i] = p, b
	}
	waitTopicPeers(t, nodes, false)
	testkit.WaitFor(t, 10*time.Second, "summaries from every peer", func() bool {
		for _, b := range books {
			if len(b.KnownPeers()) != n-1 {
				return false
			}
		}
		return true
	})
	settledRound(t, probes)

	// The leaver says goodbye, then stops answering probes (its shutdown).
	const leaver = n - 1
	gone := nodes[leaver].h.ID()
	if err := books[leaver].Goodbye(context.Background(), "signal terminated"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "every peer to hear the goodbye", func() bool {
		for _, b := range books[:leaver] {
			if slices.Contains(b.KnownPeers(), gone) {
				return false
			}
		}
		return true
	})
	probes[leaver].Close()

	stayers := probes[:leaver]
	for range 5 {
		for i, r := range round(t, stayers) {
			if !r.Healthy {
				t.Fatalf("node %d failed after a graceful leave: %s", i, r.Message)
			}
			if responders := r.Details["responders"].([]string); slices.Contains(responders, gone.String()) {
				t.Fatalf("node %d still asked the peer that said goodbye", i)
			}
		}
	}
}
