// Package nodetest runs whole meshhealth nodes in one process on a mocknet
// network: each member is the node that cmd/node runs (health manager, every
// check, HTTP endpoints, shutdown manager), only its libp2p host is a
// mocknet one whose links a test can cut. It is the simulated mesh of CI.
package nodetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/internal/testmesh"
	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// Member is one node of the mesh.
type Member struct {
	node.Node
	Index int
}

// Mesh is N nodes on one mocknet.
type Mesh struct {
	Net     mocknet.Mocknet
	Members []*Member
}

// FastConfig is a node configuration for tests: every interval shortened so
// that a mesh converges and a fault is detected in a few seconds, mDNS off,
// and no exit on a critical failure (the test process must survive it).
func FastConfig(dataDir string) node.Config {
	c := node.Default()
	c.P2P.DataDir = dataDir
	c.HTTP = "127.0.0.1:0"
	c.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"} // unused: the host is mocknet's
	c.P2P.MDNS = false
	c.Health.StartupGrace = 2 * time.Second
	c.Health.ShutdownOnCritical = false
	c.Shutdown.Timeout = 5 * time.Second
	c.Probes.Connectivity.Interval = 500 * time.Millisecond
	c.Probes.Connectivity.Timeout = 250 * time.Millisecond
	c.Probes.PubSub.Interval = time.Second
	c.Probes.PubSub.Timeout = time.Second
	c.Probes.DHT.Interval = 2 * time.Second
	c.Probes.DHT.Timeout = 2 * time.Second
	c.Probes.Election.Interval = 500 * time.Millisecond
	c.Probes.Election.Timeout = 250 * time.Millisecond
	c.Probes.Resources.Interval = 2 * time.Second
	c.Probes.Resources.Timeout = time.Second
	c.Health.RetryInterval = 200 * time.Millisecond
	c.Health.ScoreHorizon = 5 * time.Second
	c.Summary.Interval = time.Second
	c.Election.HeartbeatInterval = 200 * time.Millisecond
	c.Election.HeartbeatTimeout = 600 * time.Millisecond
	c.Election.BootstrapWait = 500 * time.Millisecond
	c.Election.ElectionWindow = 200 * time.Millisecond
	c.Election.MemberTTL = 2 * time.Second
	return c
}

// New starts n nodes. Every node links to every other, and connects to
// node 0 and to its predecessor, so the mesh is connected but not complete:
// probes have peers they must reach through others. tweak may adjust each
// node's configuration.
func New(t testing.TB, n int, tweak func(i int, c *node.Config)) *Mesh {
	t.Helper()
	mn := testmesh.New(t)
	m := &Mesh{Net: mn}
	t.Cleanup(m.Close)
	testmesh.AddPeers(t, mn, n)
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	hosts := mn.Hosts()
	for i, h := range hosts {
		for _, j := range []int{0, i - 1} {
			if j < 0 || j == i {
				continue
			}
			if _, err := mn.ConnectPeers(h.ID(), hosts[j].ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, h := range hosts {
		cfg := FastConfig(t.TempDir())
		if tweak != nil {
			tweak(i, &cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("node %d config: %v", i, err)
		}
		log := testLogger(t, i)
		reg := node.NewRegistry()
		sc := cfg.ShutdownConfig()
		sc.Exit = func(int) {} // the test process must survive a second signal
		sm := shutdown.New(sc, reg, log)
		mem := &Member{Index: i}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := node.StartApp(ctx, sm, node.Options(cfg, node.Env{Host: h, Registry: reg}, sm, log),
			fx.Invoke(func(nd node.Node) { mem.Node = nd }))
		cancel()
		if err != nil {
			sm.Shutdown("start-up error", shutdown.ExitFatal)
			sm.Wait()
			t.Fatalf("node %d: %v", i, err)
		}
		m.Members = append(m.Members, mem)
	}
	return m
}

// Close stops every node through its shutdown manager, as SIGTERM would.
func (m *Mesh) Close() {
	for _, mem := range m.Members {
		mem.Stop()
	}
}

// Stop shuts one node down gracefully and waits for it.
func (mem *Member) Stop() {
	mem.Shutdown.Shutdown("test done", shutdown.ExitOK)
	mem.Shutdown.Wait()
}

// URL is the member's HTTP base URL.
func (mem *Member) URL() string { return "http://" + mem.HTTP.Addr() }

// testLogger discards logs unless MESHHEALTH_TEST_LOG is set, so a failing
// test can be rerun with the nodes' logs on.
func testLogger(t testing.TB, i int) *slog.Logger {
	if os.Getenv("MESHHEALTH_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", fmt.Sprint(i))
}
