package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/internal/testmesh"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/status"
	"github.com/prometheus/client_golang/prometheus"
)

// fastConfig shrinks every timing so a mocknet mesh elects in well under a
// second. The ratios are the defaults'.
func fastConfig() Config {
	return Config{
		HeartbeatInterval: 100 * time.Millisecond,
		HeartbeatTimeout:  400 * time.Millisecond,
		TimeoutJitter:     0.5,
		BootstrapWait:     300 * time.Millisecond,
		ElectionWindow:    150 * time.Millisecond,
		MemberTTL:         1200 * time.Millisecond,
		MaxLeaderChanges:  3,
		ChangeWindow:      10 * time.Minute,
	}
}

// fakeView is a LocalView the test can change under a running election.
type fakeView struct {
	status atomic.Value // string
	peers  atomic.Int64
}

func newFakeView() *fakeView {
	v := &fakeView{}
	v.status.Store(status.Healthy)
	v.peers.Store(4)
	return v
}

func (v *fakeView) HealthStatus() status.Status { return v.status.Load().(status.Status) }
func (v *fakeView) HealthScore() float64        { return 1 }
func (v *fakeView) ConnectedPeers() int         { return int(v.peers.Load()) }
func (v *fakeView) setStatus(s status.Status)   { v.status.Store(s) }
func (v *fakeView) ResourceHeadroom() float64   { return 1 }

type clusterNode struct {
	host  host.Host
	ps    *pubsub.PubSub
	e     *Election // nil for a raw peer
	view  *fakeView
	reg   *prometheus.Registry
	wm    *wire.Metrics
	topic *pubsub.Topic // raw peers only
	dead  bool
}

type cluster struct {
	t     *testing.T
	ctx   context.Context
	mn    mocknet.Mocknet
	nodes []*clusterNode

	// blocked pairs drop each other's pubsub RPCs. A partition unlinks
	// and disconnects on mocknet, and this closes a mocknet race: pubsub
	// re-opens its stream the instant the old one is reset, while the
	// connection is still listed, and mocknet leaves that new stream alive
	// on the closed connection, so the "partition" would leak.
	mu      sync.Mutex
	blocked map[[2]peer.ID]bool
}

func (c *cluster) inspector(self peer.ID) func(peer.ID, *pubsub.RPC) error {
	return func(from peer.ID, _ *pubsub.RPC) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.blocked[[2]peer.ID{self, from}] {
			return errors.New("partitioned")
		}
		return nil
	}
}

func (c *cluster) block(a, b peer.ID, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked[[2]peer.ID{a, b}] = on
	c.blocked[[2]peer.ID{b, a}] = on
}

// newCluster builds n election nodes and raw extra peers (GossipSub on the
// election topic with no election and no validator: a misbehaving peer),
// fully linked and connected, and starts the elections.
func newCluster(t *testing.T, n, raw int, cfg Config, opts ...Option) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mn := mocknet.New()
	c := &cluster{t: t, ctx: ctx, mn: mn, blocked: map[[2]peer.ID]bool{}}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd.e != nil {
				if err := nd.e.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}
		}
		cancel()
		_ = mn.Close()
	})
	for i := range n + raw {
		h, err := mn.GenPeer()
		if err != nil {
			t.Fatal(err)
		}
		ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithAppSpecificRpcInspector(c.inspector(h.ID())))
		if err != nil {
			t.Fatal(err)
		}
		nd := &clusterNode{host: h, ps: ps, view: newFakeView(), reg: prometheus.NewRegistry()}
		nd.wm = wire.NewMetrics(nd.reg)
		if i < n {
			var lg *slog.Logger
			if os.Getenv("ELECTION_DEBUG") != "" {
				lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
			}
			nd.e, err = New(cfg, ps, h.ID(), nd.view, nd.wm, nd.reg, lg, opts...)
			if err != nil {
				t.Fatal(err)
			}
		} else if nd.topic, err = ps.Join(wire.TopicElection); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
	}
	// Connect only once every node speaks GossipSub: an earlier
	// connection finds no pubsub protocol and pubsub never retries it.
	// One connection per pair, so a partition cannot leak.
	testmesh.ConnectPairs(t, mn)
	for _, nd := range c.elections() {
		if err := nd.e.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *cluster) elections() []*clusterNode {
	var out []*clusterNode
	for _, nd := range c.nodes {
		if nd.e != nil && !nd.dead {
			out = append(out, nd)
		}
	}
	return out
}

func (c *cluster) raw() []*clusterNode {
	var out []*clusterNode
	for _, nd := range c.nodes {
		if nd.e == nil {
			out = append(out, nd)
		}
	}
	return out
}

// eventually polls cond until it holds or the generous deadline passes: no
// assertion here depends on how fast a busy machine runs.
func (c *cluster) eventually(what string, limit time.Duration, cond func() bool) {
	c.t.Helper()
	testkit.Eventually(c.t, limit, what, func() (bool, string) {
		if cond() {
			return true, ""
		}
		return false, "\n" + c.dump()
	})
}

// agreed reports whether the given nodes (every live election by default)
// all follow one leader in one term, which is one of them.
func (c *cluster) agreed(nodes ...*clusterNode) bool {
	if len(nodes) == 0 {
		nodes = c.elections()
	}
	first := nodes[0].e.State()
	if !first.HaveLeader {
		return false
	}
	leaders := 0
	for _, nd := range nodes {
		st := nd.e.State()
		if !st.HaveLeader || st.Leader != first.Leader || st.Term != first.Term {
			return false
		}
		if st.IsLeader {
			leaders++
		}
	}
	return leaders == 1
}

func (c *cluster) leader(nodes ...*clusterNode) *clusterNode {
	if len(nodes) == 0 {
		nodes = c.elections()
	}
	for _, nd := range nodes {
		if nd.e.State().IsLeader {
			return nd
		}
	}
	return nil
}

func (c *cluster) leaders(nodes []*clusterNode) int {
	n := 0
	for _, nd := range nodes {
		if !nd.dead && nd.e.State().IsLeader {
			n++
		}
	}
	return n
}

// cut severs every link and connection between the two sides.
func (c *cluster) cut(a, b []*clusterNode) {
	for _, x := range a {
		for _, y := range b {
			c.block(x.host.ID(), y.host.ID(), true)
			if err := c.mn.UnlinkPeers(x.host.ID(), y.host.ID()); err != nil {
				c.t.Fatal(err)
			}
			_ = c.mn.DisconnectPeers(x.host.ID(), y.host.ID())
		}
	}
}

// join links and connects the two sides again.
func (c *cluster) join(a, b []*clusterNode) {
	for _, x := range a {
		for _, y := range b {
			c.block(x.host.ID(), y.host.ID(), false)
			if _, err := c.mn.LinkPeers(x.host.ID(), y.host.ID()); err != nil {
				c.t.Fatal(err)
			}
			if _, err := c.mn.ConnectPeers(x.host.ID(), y.host.ID()); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// kill crashes a node: no resign, its election stops and it drops off the
// network.
func (c *cluster) kill(nd *clusterNode) {
	if err := nd.e.Close(); err != nil {
		c.t.Fatal(err)
	}
	nd.dead = true
	for _, other := range c.nodes {
		if other != nd {
			c.block(nd.host.ID(), other.host.ID(), true)
			_ = c.mn.UnlinkPeers(nd.host.ID(), other.host.ID())
			_ = c.mn.DisconnectPeers(nd.host.ID(), other.host.ID())
		}
	}
}

// publishRaw publishes data from a raw peer, retrying until the topic has
// peers (a publish before the streams are up goes nowhere).
func (c *cluster) publishRaw(nd *clusterNode, data []byte) {
	c.t.Helper()
	c.eventually("raw peer sees topic peers", 10*time.Second, func() bool { return len(nd.topic.ListPeers()) > 0 })
	if err := nd.topic.Publish(c.ctx, data); err != nil {
		c.t.Fatal(err)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func (c *cluster) dump() string {
	out := ""
	for i, nd := range c.nodes {
		if nd.e == nil {
			continue
		}
		st := nd.e.State()
		out += fmt.Sprintf("node %d %s dead=%v leader=%s term=%d is=%v members=%d conns=%d\n", i, nd.host.ID().ShortString(),
			nd.dead, short(st.Leader), st.Term, st.IsLeader, st.Members, len(nd.host.Network().Peers()))
	}
	return out
}

func short(s string) string {
	if id, err := peer.Decode(s); err == nil {
		return id.ShortString()
	}
	return s
}
