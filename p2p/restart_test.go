package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// gossipMember is one node of a restart test: a p2p node on the probe
// topic, subscribed.
type gossipMember struct {
	n     *Node
	topic *pubsub.Topic
	sub   *pubsub.Subscription
}

func startMember(t *testing.T, h host.Host) *gossipMember {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MDNS = false
	n, err := Start(context.Background(), h, cfg, nil, Options{Registerer: prometheus.NewRegistry()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := n.PubSub.Join(wire.TopicProbe)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	return &gossipMember{n: n, topic: tp, sub: sub}
}

// leave stops the member as a node's shutdown does: quiet stops GossipSub
// first (Node.StopGossip, the node's order); otherwise the topic is left
// while GossipSub runs (the order before it).
func (m *gossipMember) leave(t *testing.T, quiet bool) {
	t.Helper()
	if quiet {
		if err := m.n.StopGossip(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	m.sub.Cancel()
	synctest.Wait() // the leave, if any, reaches the peer
	if err := m.topic.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := m.n.Close(); err != nil {
		t.Fatal(err)
	}
}

// answer acks every "probe" from a peer with an "ack", as a responder does,
// until ctx ends.
func (m *gossipMember) answer(ctx context.Context) {
	self := m.n.Host.ID()
	for {
		msg, err := m.sub.Next(ctx)
		if err != nil {
			return
		}
		if msg.ReceivedFrom != self && string(msg.Data) == "probe" {
			_ = m.topic.Publish(context.Background(), []byte("ack"))
		}
	}
}

// roundTrip publishes a probe and waits for a peer's ack, for at most
// within (in the bubble's time).
func (m *gossipMember) roundTrip(t *testing.T, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := m.topic.Publish(ctx, []byte("probe")); err != nil {
		t.Fatal(err)
	}
	self := m.n.Host.ID()
	for {
		msg, err := m.sub.Next(ctx)
		if err != nil {
			return err
		}
		if msg.ReceivedFrom != self && string(msg.Data) == "ack" {
			return nil
		}
	}
}

func inMesh(n *Node, p peer.ID) bool {
	return slices.Contains(n.GossipMesh()[wire.TopicProbe], p)
}

// A node back from a graceful restart must be in its peer's GossipSub mesh
// at once, so that its first probes are answered through the mesh without
// flood publishing. Two nodes, as the rolling-restart-2 scenario: node b
// leaves gracefully and comes back at once with the same identity.
//
// Leaving the topic while GossipSub runs sends a's side a PRUNE with the
// unsubscribe backoff; b's first GRAFT after the restart falls inside it
// and is answered with a PRUNE carrying the full prune backoff (a minute),
// so the pair stays apart and b's probe can only cross by lazy gossip, a
// heartbeat or more per hop. Stopping GossipSub first sends nothing: a
// forgets b as it would a crashed peer and grafts it on return.
//
// Time is the bubble's, so the bounds are in heartbeats, not in how fast
// the machine is: the mesh must hold b within 3 heartbeats of its return,
// and the round-trip take under a tenth of one (lazy gossip cannot do it
// in less than the time to the next heartbeat, over half of one here).
func TestGracefulRestartRejoinsTheMeshAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quiet  bool
		inMesh bool
	}{
		{"leaving the topic first keeps it out (the library's backoff)", false, false},
		{"stopping gossipsub first lets it in", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mn := mocknet.New()
				defer mn.Close()
				keyA, _, _ := crypto.GenerateEd25519Key(rand.Reader)
				keyB, _, _ := crypto.GenerateEd25519Key(rand.Reader)
				addrA := ma.StringCast("/ip4/100.64.0.1/tcp/4001")
				addrB := ma.StringCast("/ip4/100.64.0.2/tcp/4001")
				ha, err := mn.AddPeer(keyA, addrA)
				if err != nil {
					t.Fatal(err)
				}
				hb, err := mn.AddPeer(keyB, addrB)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := mn.LinkPeers(ha.ID(), hb.ID()); err != nil {
					t.Fatal(err)
				}
				if _, err := mn.ConnectPeers(ha.ID(), hb.ID()); err != nil {
					t.Fatal(err)
				}
				a, b := startMember(t, ha), startMember(t, hb)
				answering, stopAnswering := context.WithCancel(context.Background())
				answered := make(chan struct{})
				go func() { a.answer(answering); close(answered) }()
				time.Sleep(3 * gossipHeartbeat)
				synctest.Wait()
				if !inMesh(a.n, hb.ID()) || !inMesh(b.n, ha.ID()) {
					t.Fatalf("no mesh before the restart: a %v, b %v", a.n.GossipMesh(), b.n.GossipMesh())
				}
				if err := b.roundTrip(t, gossipHeartbeat/10); err != nil {
					t.Fatalf("round-trip before the restart: %v", err)
				}

				b.leave(t, tc.quiet)
				synctest.Wait()
				// The same identity on a new host, linked and connected
				// again as its bootstrap redial would.
				if err := mn.UnlinkPeers(ha.ID(), hb.ID()); err != nil {
					t.Fatal(err)
				}
				hb, err = mn.AddPeer(keyB, addrB)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := mn.LinkPeers(ha.ID(), hb.ID()); err != nil {
					t.Fatal(err)
				}
				if _, err := mn.ConnectPeers(hb.ID(), ha.ID()); err != nil {
					t.Fatal(err)
				}
				b = startMember(t, hb)
				// Half a heartbeat off the nodes' heartbeats, so that lazy
				// gossip would need more than the round-trip's bound.
				time.Sleep(3*gossipHeartbeat + gossipHeartbeat/2)
				synctest.Wait()

				if got := inMesh(a.n, hb.ID()) && inMesh(b.n, ha.ID()); got != tc.inMesh {
					t.Fatalf("restarted node in the mesh: %v, want %v (a %v, b %v)", got, tc.inMesh, a.n.GossipMesh(), b.n.GossipMesh())
				}
				err = b.roundTrip(t, gossipHeartbeat/10)
				if tc.inMesh && err != nil {
					t.Fatalf("the restarted node's probe was not answered within a tenth of a heartbeat: %v", err)
				}
				if !tc.inMesh && err == nil {
					t.Fatal("the restarted node's probe was answered at once though it is out of the mesh")
				}

				stopAnswering()
				<-answered
				b.leave(t, true)
				a.leave(t, true)
				synctest.Wait()
			})
		})
	}
}
