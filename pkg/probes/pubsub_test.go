package probes

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
)

// startProbes builds and starts a pubsub probe on every node. Node i's
// probe-topic validator must be probes[i].Validator(...) for drop-inbound
// to work, so the mesh is built with a validator that forwards to it.
func meshWithProbes(t *testing.T, n int, ring bool) []*PubSubProbe {
	t.Helper()
	probes := make([]*PubSubProbe, n)
	var mu sync.Mutex
	views := make([]*liveness.View, n)
	_, nodes := newMesh(t, n, meshOptions{pubsub: true, ring: ring, probeValidator: func(i int, wireV pubsub.ValidatorEx) pubsub.ValidatorEx {
		return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
			mu.Lock()
			p, v := probes[i], views[i]
			mu.Unlock()
			if p == nil {
				return wireV(ctx, from, msg)
			}
			// As the node wires it: every accepted message is evidence of
			// life for the liveness view the probe picks responders from.
			return p.Validator(v.Wrap(wireV))(ctx, from, msg)
		}
	}})
	for i, nd := range nodes {
		view := newView(t, nd)
		p, err := NewPubSubRoundTrip(nd.topic, nd.h.ID(), nd.h.Network(), view,
			PubSubConfig{Interval: 10 * time.Second, Timeout: 3 * time.Second, MinPeers: 1}, nd.reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		mu.Lock()
		probes[i], views[i] = p, view
		mu.Unlock()
	}
	waitTopicPeers(t, nodes, ring)
	return probes
}

// round runs every node's check once, concurrently, as the schedulers of a
// real mesh would.
func round(t *testing.T, probes []*PubSubProbe) []health.Result {
	t.Helper()
	res := make([]health.Result, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() { res[i] = runCheck(t, p.Check()) })
	}
	wg.Wait()
	return res
}

// settledRound runs a round and waits until every ack it asked for has been
// published and has reached its prober, so the next round starts clean. It
// returns the probes and acks published.
func settledRound(t *testing.T, probes []*PubSubProbe) (probesSent, acksSent int) {
	t.Helper()
	sum := func() (probesOut, acksOut, acksIn int) {
		for _, p := range probes {
			probesOut += int(testutil.ToFloat64(p.published.WithLabelValues("probe")))
			acksOut += int(testutil.ToFloat64(p.published.WithLabelValues("ack")))
			for _, r := range []string{"matched", "late", "unexpected"} {
				acksIn += int(testutil.ToFloat64(p.acksIn.WithLabelValues(r)))
			}
		}
		return
	}
	p0, a0, in0 := sum()
	expected := 0
	for i, r := range round(t, probes) {
		if !r.Healthy {
			t.Fatalf("node %d: %s", i, r.Message)
		}
		expected += r.Details["acks_expected"].(int)
	}
	testkit.WaitFor(t, 10*time.Second, "every ack published and received", func() bool {
		_, a, in := sum()
		return a-a0 >= expected && in-in0 >= expected
	})
	p1, a1, _ := sum()
	return p1 - p0, a1 - a0
}

func TestPubSubRoundTripCrossesHopsAndIsAckedByAListedResponder(t *testing.T) {
	// A ring of 5: each node has two neighbours and two peers it can only
	// reach through them.
	probes := meshWithProbes(t, 5, true)
	// Until the mesh has formed and every node has heard the others'
	// probes, a node knows only its neighbours.
	testkit.WaitFor(t, 10*time.Second, "every node to know every other", func() bool {
		round(t, probes)
		for _, p := range probes {
			if fresh, fallback := p.candidates(); len(fresh)+len(fallback) < len(probes)-1 {
				return false
			}
		}
		return true
	})
	for i, r := range round(t, probes) {
		if !r.Healthy {
			t.Fatalf("node %d: %s %v", i, r.Message, r.Details)
		}
		responders, _ := r.Details["responders"].([]string)
		if !slices.Contains(responders, r.Details["acked_by"].(string)) {
			t.Fatalf("node %d: ack from %v, not a listed responder %v", i, r.Details["acked_by"], responders)
		}
		if r.Details["local_delivery"] != true {
			t.Fatalf("node %d: passed without local delivery", i)
		}
		indirect := 0
		for _, s := range responders {
			id, _ := peer.Decode(s)
			if probes[i].conns.Connectedness(id) != 1 { // network.Connected
				indirect++
			}
		}
		if indirect != len(responders) || len(responders) != firstResponders {
			t.Fatalf("node %d asked %v, %d beyond its neighbours; want %d responder, not a neighbour", i, responders, indirect, firstResponders)
		}
		t.Logf("node %d: %s (rtt %vms)", i, r.Message, r.Details["rtt_ms"])
		for _, k := range []string{"local_delivery", "acks_received", "acks_expected", "rtt_ms", "responders"} {
			if _, ok := r.Details[k]; !ok {
				t.Errorf("details lack %q", k)
			}
		}
	}
}

func TestPubSubRoundTripFailsOnlyOnTheNodeThatDropsInboundOrLeaves(t *testing.T) {
	probes := meshWithProbes(t, 5, false)
	const deaf = 2
	// Enough successes for the adaptive timeout to trust its history, so
	// the deaf node gives up well before the configured 3 s.
	for range adaptiveMinSamples {
		for i, r := range round(t, probes) {
			if !r.Healthy {
				t.Fatalf("healthy mesh, node %d: %s", i, r.Message)
			}
		}
	}

	probes[deaf].SetDropInbound(true)
	for i, r := range round(t, probes) {
		if i == deaf {
			if r.Healthy || !strings.Contains(r.Message, "no live peer answered") {
				t.Fatalf("the deaf node: healthy=%v %q", r.Healthy, r.Message)
			}
			if r.Details["local_delivery"] != true {
				t.Fatal("drop-inbound also dropped the node's own probe")
			}
			t.Logf("the deaf node: %s (adaptive timeout %vms)", r.Message, r.Details["timeout_ms"])
			continue
		}
		if !r.Healthy {
			t.Fatalf("node %d failed because node %d is deaf: %s", i, deaf, r.Message)
		}
	}
	if testutil.ToFloat64(probes[deaf].dropped) == 0 {
		t.Fatal("drop-inbound dropped nothing")
	}

	probes[deaf].SetDropInbound(false)
	if r := runCheck(t, probes[deaf].Check()); !r.Healthy {
		t.Fatalf("repaired node still fails: %s", r.Message)
	}

	// A node that left the topic fails; the others, which may still list
	// it as a responder for a while, pass on the acks of the rest.
	probes[deaf].Close()
	for i, r := range round(t, probes) {
		if i == deaf {
			if r.Healthy {
				t.Fatalf("a node off the topic passed: %s", r.Message)
			}
			continue
		}
		if !r.Healthy {
			t.Fatalf("node %d failed because node %d left the topic: %s", i, deaf, r.Message)
		}
	}
}

func TestPubSubProbeTrafficIsConstantPerProber(t *testing.T) {
	const n = 10
	probes := meshWithProbes(t, n, false)
	settledRound(t, probes) // warm-up
	// An observer on node 0 sees every message on the topic once.
	sub, err := probes[0].topic.Subscribe(pubsub.WithBufferSize(1024))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	start := time.Now()
	probesSent, acksSent := settledRound(t, probes)
	if probesSent != n {
		t.Fatalf("%v probes published in one interval by %d nodes", probesSent, n)
	}
	if acksSent > MaxResponders*n {
		t.Fatalf("%v acks for %d probes: more than %d per probe", acksSent, n, MaxResponders)
	}

	// What crossed the mesh, as node 0 saw it: the same, per prober.
	perProber := map[peer.ID]int{}
	nonces := map[string]bool{}
	var seenProbes, seenAcks int
	var acks []*wire.Ack
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for seenProbes < probesSent || seenAcks < acksSent {
		msg, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("observer saw %d probes and %d acks of %d and %d: %v", seenProbes, seenAcks, probesSent, acksSent, err)
		}
		m, err := decodeProbeTopic(msg)
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *wire.Probe:
			if m.Time().Before(start) {
				continue // the warm-up's, delivered late
			}
			seenProbes++
			nonces[m.Nonce] = true
		case *wire.Ack:
			acks = append(acks, m)
		}
		seenAcks = 0 // an ack may overtake its probe on the way to node 0
		for _, a := range acks {
			if nonces[a.Nonce] {
				seenAcks++
			}
		}
	}
	for _, a := range acks {
		if nonces[a.Nonce] {
			perProber[a.ProbeFrom]++
		}
	}
	for prober, acks := range perProber {
		if acks > MaxResponders {
			t.Fatalf("%d acks for %s's single probe", acks, prober)
		}
	}
	t.Logf("one interval, %d nodes: %d probes, %d acks (%.1f messages per node)", n, seenProbes, seenAcks, float64(seenProbes+seenAcks)/n)
}
