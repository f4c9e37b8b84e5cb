package p2p

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// loopbackConfig listens on loopback only, on free ports, with mDNS off:
// tests never multicast in the host's network namespace.
func loopbackConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	cfg.DataDir = t.TempDir()
	cfg.MDNS = false
	cfg.BootstrapInterval = 100 * time.Millisecond
	return cfg
}

func startLoopbackNode(t *testing.T, cfg Config, reg prometheus.Registerer) *Node {
	t.Helper()
	key, err := LoadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	gater := NewGater()
	h, err := NewHost(cfg, key, gater, reg)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(t.Context(), h, cfg, gater, Options{}, nil)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

func hasProtocol(addrs []ma.Multiaddr, code int) bool {
	for _, a := range addrs {
		if _, err := a.ValueForProtocol(code); err == nil {
			return true
		}
	}
	return false
}

func TestHostsOnLoopbackBootstrapExportMetricsAndHonourIsolation(t *testing.T) {
	reg1, reg2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	first := startLoopbackNode(t, loopbackConfig(t), reg1)
	if addrs := first.Host.Addrs(); !hasProtocol(addrs, ma.P_TCP) || !hasProtocol(addrs, ma.P_QUIC_V1) {
		t.Fatalf("host listens on %v, want TCP and QUIC", addrs)
	}
	cfg2 := loopbackConfig(t)
	cfg2.Bootstrap = p2pAddr(t, first.Host)
	second := startLoopbackNode(t, cfg2, reg2)

	bothConnected := func() bool { return first.ConnectedPeers() == 1 && second.ConnectedPeers() == 1 }
	testkit.WaitFor(t, 10*time.Second, "second node connected to its bootstrap node", bothConnected)

	t.Run("go-libp2p metrics are on the node's registry", func(t *testing.T) {
		families, err := reg2.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var libp2p []string
		for _, f := range families {
			if strings.HasPrefix(f.GetName(), "libp2p_") {
				libp2p = append(libp2p, f.GetName())
			}
		}
		if len(libp2p) == 0 {
			t.Fatal("no libp2p_ series on the registry given to NewHost")
		}
		t.Logf("%d libp2p metric families", len(libp2p))
	})

	t.Run("isolation refuses connections both ways until lifted", func(t *testing.T) {
		first.Isolate(true)
		testkit.WaitFor(t, 10*time.Second, "connections closed", func() bool {
			return first.ConnectedPeers() == 0 && second.ConnectedPeers() == 0
		})
		var admitted atomic.Int32
		counter := &network.NotifyBundle{ConnectedF: func(network.Network, network.Conn) { admitted.Add(1) }}
		first.Host.Network().Notify(counter)
		defer first.Host.Network().StopNotify(counter)

		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		ctx = network.WithForceDirectDial(ctx, "test")
		// Inbound, on each transport. Over TCP the dialer sees the refusal;
		// over QUIC its handshake may complete before the listener's gater
		// closes the connection, so the test looks from the isolated side.
		for _, a := range first.Host.Addrs() {
			err := second.Host.Connect(ctx, peer.AddrInfo{ID: first.Host.ID(), Addrs: []ma.Multiaddr{a}})
			t.Logf("inbound dial over %s: %v", a, err)
		}
		if err := first.Host.Connect(ctx, peer.AddrInfo{ID: second.Host.ID(), Addrs: second.Host.Addrs()}); err == nil {
			t.Error("an isolated node dialled out")
		}
		if n := admitted.Load(); n != 0 {
			t.Errorf("an isolated node admitted %d connections", n)
		}
		testkit.WaitFor(t, 10*time.Second, "no connection survives on either side", func() bool {
			return first.ConnectedPeers() == 0 && second.ConnectedPeers() == 0
		})

		first.Isolate(false)
		// The second node's bootstrap redial, backing off since the
		// isolation began, finds the first again.
		testkit.WaitFor(t, 10*time.Second, "reconnected after isolation was lifted", bothConnected)
	})
}

func TestNewRunsTheNodeUntilClose(t *testing.T) {
	cfg := loopbackConfig(t)
	key, err := LoadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, key, prometheus.NewRegistry(), Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Host.Addrs()) == 0 {
		t.Fatal("host not listening after New")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
}

func TestNewRefusesAnInvalidConfig(t *testing.T) {
	cfg := loopbackConfig(t)
	cfg.ConnLow = 0
	key, _ := LoadOrCreateIdentity(cfg.DataDir)
	if _, err := New(cfg, key, nil, Options{}, nil); err == nil || !strings.Contains(err.Error(), "conn_low") {
		t.Fatalf("New with a bad config = %v, want the validation error", err)
	}
}

// Two nodes that both listen on TCP and QUIC talk over TCP: the kernel, not
// the process, acknowledges and paces a LAN mesh's many small messages.
func TestPeersOnBothTransportsConnectOverTCP(t *testing.T) {
	a := startLoopbackNode(t, loopbackConfig(t), nil)
	b := startLoopbackNode(t, loopbackConfig(t), nil)
	if !hasProtocol(b.Host.Addrs(), ma.P_QUIC_V1) || !hasProtocol(b.Host.Addrs(), ma.P_TCP) {
		t.Fatalf("b listens on %v, want TCP and QUIC", b.Host.Addrs())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Host.Connect(ctx, peer.AddrInfo{ID: b.Host.ID(), Addrs: b.Host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.Host.Network().ConnsToPeer(b.Host.ID()) {
		if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_TCP); err != nil {
			t.Errorf("connected over %v, want TCP", c.RemoteMultiaddr())
		}
	}
}
