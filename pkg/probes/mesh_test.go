package probes

import (
	"context"
	"testing"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/internal/testmesh"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/liveness"
)

// An in-process mesh on mocknet with real GossipSub and a real Kademlia
// DHT per node, built here rather than with the repo's p2p package so these
// tests exercise the probes against the libraries alone.

type meshNode struct {
	h     host.Host
	key   crypto.PrivKey
	ps    *pubsub.PubSub
	topic *pubsub.Topic
	// summaries is the joined summary topic, with meshOptions.summary.
	summaries *pubsub.Topic
	dht       *dht.IpfsDHT
	reg       *prometheus.Registry
}

type meshOptions struct {
	pubsub  bool
	summary bool // also join meshhealth/summary/v1
	dht     bool
	// ring connects each node to its two ring neighbours only (every pair
	// is still linked, so the DHT may dial more); otherwise all connect.
	ring bool
	// dhtValidator overrides node i's "meshhealth" validator (a liar).
	dhtValidator func(i int) record.Validator
	// probeValidator wraps node i's probe-topic validator, the wire one.
	probeValidator func(i int, wireV pubsub.ValidatorEx) pubsub.ValidatorEx
}

func newMesh(t *testing.T, n int, o meshOptions) (mocknet.Mocknet, []*meshNode) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mn := testmesh.New(t)
	nodes := make([]*meshNode, n)
	t.Cleanup(func() {
		cancel()
		for _, nd := range nodes {
			if nd != nil && nd.dht != nil {
				nd.dht.Close()
			}
		}
	})
	for i, h := range testmesh.AddPeers(t, mn, n) {
		nodes[i] = &meshNode{h: h, key: h.Peerstore().PrivKey(h.ID()), reg: prometheus.NewRegistry()}
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		nd := nodes[i]
		if o.dht {
			var v record.Validator = RecordValidator{}
			if o.dhtValidator != nil && o.dhtValidator(i) != nil {
				v = o.dhtValidator(i)
			}
			d, err := dht.New(nd.h,
				dht.ProtocolPrefix("/meshhealth"),
				dht.Mode(dht.ModeServer),
				dht.Validator(record.NamespacedValidator{RecordNamespace: v}),
				dht.DisableAutoRefresh(),
			)
			if err != nil {
				t.Fatal(err)
			}
			nd.dht = d
		}
		if o.pubsub {
			params := pubsub.DefaultGossipSubParams()
			params.HeartbeatInitialDelay = 50 * time.Millisecond
			params.HeartbeatInterval = 200 * time.Millisecond
			ps, err := pubsub.NewGossipSub(ctx, nd.h,
				pubsub.WithGossipSubParams(params),
				pubsub.WithMessageSigning(true),
				pubsub.WithStrictSignatureVerification(true),
				// As the node runs it (p2p/pubsub.go): own messages go to
				// every topic peer, not only the mesh.
				pubsub.WithFloodPublish(true),
				pubsub.WithPeerExchange(false),
			)
			if err != nil {
				t.Fatal(err)
			}
			nd.ps = ps
			v := wire.NewValidator(wire.TopicProbe, wire.ValidatorOptions{Self: nd.h.ID()})
			if o.probeValidator != nil {
				v = o.probeValidator(i, v)
			}
			if err := ps.RegisterTopicValidator(wire.TopicProbe, v); err != nil {
				t.Fatal(err)
			}
			if nd.topic, err = ps.Join(wire.TopicProbe); err != nil {
				t.Fatal(err)
			}
			if o.summary {
				sv := wire.NewValidator(wire.TopicSummary, wire.ValidatorOptions{Self: nd.h.ID()})
				if err := ps.RegisterTopicValidator(wire.TopicSummary, sv); err != nil {
					t.Fatal(err)
				}
				if nd.summaries, err = ps.Join(wire.TopicSummary); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i := range nodes {
		for j := i + 1; j < n; j++ {
			if o.ring && j != i+1 && !(i == 0 && j == n-1) {
				continue
			}
			if _, err := mn.ConnectPeers(nodes[i].h.ID(), nodes[j].h.ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if o.dht {
		testkit.WaitFor(t, 10*time.Second, "DHT routing tables filled", func() bool {
			for _, nd := range nodes {
				if nd.dht.RoutingTable().Size() < 2 {
					return false
				}
			}
			return true
		})
	}
	return mn, nodes
}

// waitTopicPeers waits until every node sees its neighbours subscribed to
// the probe topic; call it once the nodes subscribed.
func waitTopicPeers(t *testing.T, nodes []*meshNode, ring bool) {
	t.Helper()
	want := len(nodes) - 1
	if ring {
		want = min(2, want)
	}
	testkit.WaitFor(t, 10*time.Second, "probe topic peers", func() bool {
		for _, nd := range nodes {
			if len(nd.topic.ListPeers()) < want {
				return false
			}
		}
		return true
	})
}

// newView is a node's liveness view as the node builds it, seeded with its
// current connections; messages reach it through View.Wrap.
func newView(t *testing.T, nd *meshNode) *liveness.View {
	t.Helper()
	v, err := liveness.NewView(nd.h.ID(), liveness.Config{}, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range nd.h.Network().Peers() {
		v.Observe(id, liveness.Connected, time.Time{})
	}
	return v
}
