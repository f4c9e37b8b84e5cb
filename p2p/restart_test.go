package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
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
// topic, subscribed, acking the probes of others as a responder does.
type gossipMember struct {
	n     *Node
	topic *pubsub.Topic
	sub   *pubsub.Subscription
	acks  chan string

	stopAnswering context.CancelFunc
	answered      chan struct{}
}

// startMember starts a node on h; it is left quietly when the test ends
// (the bubble's goroutines must all be gone by then).
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
	ctx, cancel := context.WithCancel(context.Background())
	m := &gossipMember{n: n, topic: tp, sub: sub, acks: make(chan string, 16), stopAnswering: cancel, answered: make(chan struct{})}
	go m.answer(ctx)
	t.Cleanup(func() { m.leave(t, true) })
	return m
}

// answer acks every "probe N" from a peer with "ack N", and hands acks to
// roundTrip, until ctx ends.
func (m *gossipMember) answer(ctx context.Context) {
	defer close(m.answered)
	self := m.n.Host.ID()
	for {
		msg, err := m.sub.Next(ctx)
		if err != nil {
			return
		}
		if msg.ReceivedFrom == self {
			continue
		}
		if nonce, ok := strings.CutPrefix(string(msg.Data), "probe "); ok {
			_ = m.topic.Publish(ctx, []byte("ack "+nonce))
		} else if nonce, ok := strings.CutPrefix(string(msg.Data), "ack "); ok {
			select {
			case m.acks <- nonce:
			default:
			}
		}
	}
}

// roundTrip publishes probe nonce and waits for its ack, for at most
// within (in the bubble's time).
func (m *gossipMember) roundTrip(t *testing.T, nonce string, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := m.topic.Publish(ctx, []byte("probe "+nonce)); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case got := <-m.acks:
			if got == nonce {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leave stops the member as a node's shutdown does: quiet stops GossipSub
// first (Node.StopGossip, the node's order); otherwise the topic is left
// while GossipSub runs (the order before it). Leaving twice is harmless.
func (m *gossipMember) leave(t *testing.T, quiet bool) {
	t.Helper()
	if quiet {
		if err := m.n.StopGossip(context.Background()); err != nil {
			t.Error(err)
		}
	}
	m.stopAnswering()
	<-m.answered
	m.sub.Cancel()
	synctest.Wait() // the leave, if any, reaches the peer
	if err := m.topic.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Error(err)
	}
	if err := m.n.Close(); err != nil {
		t.Error(err)
	}
}

func inMesh(n *Node, p peer.ID) bool {
	return slices.Contains(n.GossipMesh()[wire.TopicProbe], p)
}

// meshWithin reports whether a and b hold each other in their probe-topic
// mesh within beats GossipSub heartbeats, looking once a heartbeat.
func meshWithin(a, b *gossipMember, beats int) bool {
	for range beats {
		time.Sleep(gossipHeartbeat)
		synctest.Wait()
		if inMesh(a.n, b.n.Host.ID()) && inMesh(b.n, a.n.Host.ID()) {
			return true
		}
	}
	return false
}

// answeredAtOnce publishes up to three probes from m, each given a tenth
// of a heartbeat for its ack, and reports whether one was answered. The
// probes start half a heartbeat off the nodes' heartbeats, which fall on
// whole seconds plus the initial delay, so no wait spans one: lazy gossip,
// which moves only at a heartbeat, cannot answer any of them.
func answeredAtOnce(t *testing.T, m *gossipMember, round string) bool {
	t.Helper()
	time.Sleep(gossipHeartbeat / 2)
	for i := range 3 {
		if m.roundTrip(t, fmt.Sprintf("%s.%d", round, i), gossipHeartbeat/10) == nil {
			return true
		}
	}
	return false
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
// and a round-trip take under a tenth of one (answeredAtOnce), which only
// the mesh can carry.
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
				t.Cleanup(func() { _ = mn.Close() }) // after the members' leave
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
				// Connected once both run, as a node dials its peers
				// once GossipSub is up.
				a, b := startMember(t, ha), startMember(t, hb)
				if _, err := mn.ConnectPeers(ha.ID(), hb.ID()); err != nil {
					t.Fatal(err)
				}
				if !meshWithin(a, b, 5) {
					t.Fatalf("no mesh before the restart: a %v, b %v", a.n.GossipMesh(), b.n.GossipMesh())
				}
				if !answeredAtOnce(t, b, "before") {
					t.Fatal("no probe answered through the mesh before the restart")
				}

				b.leave(t, tc.quiet)
				// Gone with its process. Mocknet can keep a connection
				// to a closed host, and let a dial reach it while they
				// are linked; a real network does neither.
				_ = ha.Network().ClosePeer(hb.ID())
				if err := mn.UnlinkPeers(ha.ID(), hb.ID()); err != nil {
					t.Fatal(err)
				}
				// A process takes a moment to start again: a heartbeat,
				// well inside the unsubscribe backoff (10 s).
				time.Sleep(gossipHeartbeat)
				synctest.Wait()
				// The same identity on a new host, linked and connected
				// again as its bootstrap redial would.
				hb, err = mn.AddPeer(keyB, addrB)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := mn.LinkPeers(ha.ID(), hb.ID()); err != nil {
					t.Fatal(err)
				}
				b = startMember(t, hb)
				if _, err := mn.ConnectPeers(hb.ID(), ha.ID()); err != nil {
					t.Fatal(err)
				}

				if got := meshWithin(a, b, 3); got != tc.inMesh {
					t.Fatalf("restarted node in the mesh within 3 heartbeats: %v, want %v (a %v, b %v)", got, tc.inMesh, a.n.GossipMesh(), b.n.GossipMesh())
				}
				if got := answeredAtOnce(t, b, "after"); got != tc.inMesh {
					t.Fatalf("restarted node's probe answered through the mesh: %v, want %v", got, tc.inMesh)
				}
			})
		})
	}
}
