package liveness

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/internal/testmesh"
)

// ringPinger pings over mocknet as the node's pinger does: a link opened
// only for the ping is closed after it.
type ringPinger struct{ h host.Host }

func (p ringPinger) Ping(ctx context.Context, id peer.ID) error {
	if p.h.Network().Connectedness(id) != network.Connected {
		defer p.h.Network().ClosePeer(id)
	}
	select {
	case r := <-ping.Ping(ctx, p.h, id):
		return r.Error
	case <-ctx.Done():
		return ctx.Err()
	}
}

type ringNode struct {
	h     host.Host
	view  *View
	stop  context.CancelFunc // ends its publishing, as its process would
	opens *atomic.Int64      // connections opened, either way
}

// ring starts n nodes on mocknet, each linked to every other (a dial would
// work) but connected only to its two neighbours on a ring, as bounded
// degree leaves them: each hears the others' messages over multi-hop
// gossip, on a topic whose validator feeds its view (View.Wrap).
func ring(t *testing.T, n int, cfg Config) (mocknet.Mocknet, []ringNode) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mn := testmesh.New(t)
	hosts := testmesh.AddPeers(t, mn, n)
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	nodes := make([]ringNode, n)
	topics := make([]*pubsub.Topic, n)
	stops := make([]context.Context, n)
	for i, h := range hosts {
		var stop context.CancelFunc
		stops[i], stop = context.WithCancel(ctx)
		ping.NewPingService(h)
		v, err := NewView(h.ID(), cfg, nil, ringPinger{h}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		opens := new(atomic.Int64)
		h.Network().Notify(&network.NotifyBundle{
			ConnectedF: func(_ network.Network, c network.Conn) {
				opens.Add(1)
				v.Observe(c.RemotePeer(), Connected, time.Time{})
			},
			DisconnectedF: func(nw network.Network, c network.Conn) {
				if nw.Connectedness(c.RemotePeer()) != network.Connected {
					v.Observe(c.RemotePeer(), Disconnected, time.Time{})
				}
			},
		})
		ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSigning(true), pubsub.WithPeerExchange(false))
		if err != nil {
			t.Fatal(err)
		}
		accept := func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
			return pubsub.ValidationAccept
		}
		if err := ps.RegisterTopicValidator("ring", v.Wrap(accept)); err != nil {
			t.Fatal(err)
		}
		if topics[i], err = ps.Join("ring"); err != nil {
			t.Fatal(err)
		}
		sub, err := topics[i].Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				if _, err := sub.Next(ctx); err != nil {
					return
				}
			}
		}()
		go v.Run(ctx)
		nodes[i] = ringNode{h: h, view: v, stop: stop, opens: opens}
	}
	for i := range hosts {
		if _, err := mn.ConnectPeers(hosts[i].ID(), hosts[(i+1)%n].ID()); err != nil {
			t.Fatal(err)
		}
	}
	for i, tp := range topics {
		go func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stops[i].Done():
					return
				case <-tick.C:
					_ = tp.Publish(ctx, []byte("x"))
				}
			}
		}()
	}
	return mn, nodes
}

// On a ring every node has two neighbours, yet each counts every node as a
// member: membership is what gossip carries, not the connection list. A
// link that closes as a trim closes it (both peers run on) harms nobody;
// a killed node is found dead by its neighbours and by the rest.
func TestMembershipOnAPartiallyConnectedMesh(t *testing.T) {
	const n = 6
	cfg := Config{SuspicionTimeout: time.Second, Silence: 3 * time.Second, VerifyInterval: 300 * time.Millisecond}
	mn, nodes := ring(t, n, cfg)
	testkit.Eventually(t, 20*time.Second, "every node to count all six as members", func() (bool, string) {
		for i, nd := range nodes {
			if m := nd.view.Members(); m != n {
				return false, fmt.Sprintf("node %d counts %d", i, m)
			}
		}
		return true, ""
	})
	for i, nd := range nodes {
		if c := len(nd.h.Network().Peers()); c > 2 {
			t.Fatalf("node %d has %d connections; the ring gives it 2 (a check left a link open)", i, c)
		}
	}

	// A trim: node 0 closes its link to node 1; both run on, and node 1
	// is still heard through node 5, 4, 3 and 2.
	if err := nodes[0].h.Network().ClosePeer(nodes[1].h.ID()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * cfg.Silence)
	for time.Now().Before(deadline) {
		if info, _ := nodes[0].view.Get(nodes[1].h.ID()); info.State != Alive {
			t.Fatalf("node 1, whose link to node 0 was closed, is %s at node 0; want alive (heard over gossip)", info.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The checks' pings open links and close them, and then stop: a loop
	// of them would keep opening one. (Whether a link the two sides' checks
	// opened at once outlives them is the connection manager's business,
	// which trims it; this mesh has none.)
	testkit.WaitFor(t, 15*time.Second, "the checks between node 0 and node 1 to stop opening links", func() bool {
		before := nodes[0].opens.Load()
		time.Sleep(2 * time.Second)
		return nodes[0].opens.Load() == before
	})

	// The ring closes again (a kill would otherwise cut a line in two), and
	// node 3's process is gone.
	if _, err := mn.ConnectPeers(nodes[0].h.ID(), nodes[1].h.ID()); err != nil {
		t.Fatal(err)
	}
	victim := nodes[3].h.ID()
	nodes[3].stop()
	for i, nd := range nodes {
		if i != 3 {
			_ = mn.DisconnectPeers(nd.h.ID(), victim)
			_ = mn.UnlinkPeers(nd.h.ID(), victim) // its port refuses dials
		}
	}
	if err := nodes[3].h.Close(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 3*cfg.Silence+5*cfg.SuspicionTimeout, "every other node to hold node 3 dead", func() (bool, string) {
		for i, nd := range nodes {
			if i == 3 {
				continue
			}
			if info, _ := nd.view.Get(victim); info.State != Dead {
				return false, fmt.Sprintf("node %d holds it %s (%s %s ago, connected %v)", i, info.State,
					info.Evidence, time.Since(info.EvidenceAt).Round(time.Millisecond), info.Connected)
			}
		}
		return true, ""
	})
	for i, nd := range nodes {
		if i == 3 {
			continue
		}
		if m := nd.view.Members(); m != n-1 {
			t.Errorf("node %d counts %d members, want %d", i, m, n-1)
		}
	}
}
