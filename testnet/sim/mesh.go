package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/quic-go/quic-go"
	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/pkg/awareness"
)

// Config is a simulated mesh.
type Config struct {
	// N is how many nodes.
	N int
	// Seed fixes the identities, the bootstrap topology, each node's
	// latency and the loss draws.
	Seed uint64
	// Net is the network's shape.
	Net NetConfig
	// Bootstrap is how many peers, drawn from the seed, each node is given
	// as bootstrap addresses (default 3); node 0 is everyone's first, as a
	// deployment's seed node would be.
	Bootstrap int
	// DataDir holds one directory per node (the restart-loop guard's
	// history; the resources check reads its disk).
	DataDir string
	// Node adjusts node i's configuration after SimConfig.
	Node func(i int, c *node.Config)
	// Log receives every node's log, tagged with its index (nil: none).
	Log *slog.Logger
}

// Node is one simulated node: its host and the meshhealth node attached.
type Node struct {
	Index int
	ID    peer.ID
	Host  host.Host
	*node.Attached
}

// Mesh is N simulated nodes on one simulated network.
type Mesh struct {
	Net   *Network
	Nodes []*Node
}

// SimConfig is the node configuration of a simulated node: the defaults,
// which the simulation is for, less what one process cannot have per node.
// mDNS is off (discovery is the bootstrap list) and the resources check
// is off: it measures the process (memory, goroutines, descriptors),
// which here is every node at once.
func SimConfig(dataDir string) node.Config {
	c := node.Default()
	c.P2P.DataDir = dataDir
	c.P2P.MDNS = false
	c.Probes.Resources.Enabled = false
	return c
}

// Start builds the network and the hosts, then attaches a node to each.
// Call it inside a synctest bubble; ctx bounds the start. On an error
// nothing is left running.
func Start(ctx context.Context, cfg Config) (m *Mesh, err error) {
	if cfg.N < 1 {
		return nil, errors.New("sim: no nodes")
	}
	if cfg.Bootstrap <= 0 {
		cfg.Bootstrap = 3
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	seed := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6d657368))
	m = &Mesh{Net: newNetwork(cfg.N, cfg.Net, seed)}
	m.Net.sim.Logger = cfg.Log.With("component", "simnet")
	m.Net.sim.Start()
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	keys := rand.NewChaCha8([32]byte(seedBytes(seed)))
	for i := range cfg.N {
		sk, _, err := crypto.GenerateEd25519Key(keys)
		if err != nil {
			return m, err
		}
		h, err := m.newHost(i, sk)
		if err != nil {
			return m, fmt.Errorf("sim: host %d: %w", i, err)
		}
		id := h.ID()
		m.Nodes = append(m.Nodes, &Node{Index: i, ID: id, Host: h})
	}
	for i, n := range m.Nodes {
		c := SimConfig(filepath.Join(cfg.DataDir, fmt.Sprintf("node-%d", i)))
		// What the host listens on; the host is built already.
		c.P2P.Listen = []string{listenAddr(i)}
		c.P2P.Bootstrap = m.bootstrap(i, cfg.Bootstrap, seed)
		if cfg.Node != nil {
			cfg.Node(i, &c)
		}
		log := cfg.Log.With("node", i)
		a, err := node.Attach(ctx, c, node.Env{
			Host: n.Host,
			// The kernel's run-queue wait is real time and the whole
			// process's; the bubble's clock is neither.
			Awareness: awarenessConfig(),
		}, log)
		if err != nil {
			return m, fmt.Errorf("sim: node %d: %w", i, err)
		}
		n.Attached = a
	}
	return m, nil
}

// awarenessConfig reads no run-queue wait: the kernel's is real time and
// the whole process's, and would count every node starved whenever the
// process is busy; stalls (late ticks) still count, in virtual time.
func awarenessConfig() awareness.Config {
	return awareness.Config{RunQueueWait: func() (time.Duration, bool) { return 0, false }}
}

func seedBytes(r *rand.Rand) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// bootstrap is node i's bootstrap list: node 0, then k-1 others drawn.
func (m *Mesh) bootstrap(i, k int, seed *rand.Rand) []string {
	var out []string
	add := func(j int) {
		if j == i {
			return
		}
		out = append(out, listenAddr(j)+"/p2p/"+m.Nodes[j].ID.String())
	}
	add(0)
	for range k - 1 {
		add(seed.IntN(len(m.Nodes)))
	}
	return out
}

func listenAddr(i int) string { return fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", addrOf(i), port) }

// newHost is node i's libp2p host: QUIC only, over its simulated endpoint.
func (m *Mesh) newHost(i int, sk crypto.PrivKey) (host.Host, error) {
	ip := addrOf(i)
	cm, err := connmgr.NewConnManager(node.Default().P2P.ConnLow, node.Default().P2P.ConnHigh, connmgr.WithGracePeriod(30*time.Second))
	if err != nil {
		return nil, err
	}
	return libp2p.New(
		libp2p.Identity(sk),
		libp2p.ListenAddrStrings(listenAddr(i)),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.QUICReuse(newConnManager,
			quicreuse.OverrideSourceIPSelector(func() (quicreuse.SourceIPSelector, error) { return fixedIP(ip.AsSlice()), nil }),
			quicreuse.OverrideListenUDP(func(_ string, addr *net.UDPAddr) (net.PacketConn, error) {
				return m.Net.endpoint(i, addr), nil
			})),
		libp2p.ConnectionManager(cm),
		// Identify's address discovery (observed addresses) stalls a
		// synctest bubble, as x/simlibp2p notes; the listen address is
		// the only one anyway.
		libp2p.DisableIdentifyAddressDiscovery(),
		// libp2p's default resource manager, with the limits the node's
		// own host has (p2p.NewHost): x/simlibp2p leaves it out, but it
		// does not stall the bubble.
		libp2p.DisableRelay(),
		libp2p.ForceReachabilityPublic(),
		libp2p.DisableMetrics(),
	)
}

// newConnManager is quicreuse's, closed with the host: given through
// libp2p.QUICReuse, libp2p leaves its close to whoever made it.
func newConnManager(lc fx.Lifecycle, reset quic.StatelessResetKey, token quic.TokenGeneratorKey, opts ...quicreuse.Option) (*quicreuse.ConnManager, error) {
	cm, err := quicreuse.NewConnManager(reset, token, opts...)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(cm.Close))
	return cm, nil
}

// fixedIP answers quicreuse's "which source address" with the node's own:
// it has one, and no routing table to ask.
type fixedIP net.IP

func (f fixedIP) PreferredSourceIPForDestination(*net.UDPAddr) (net.IP, error) {
	return net.IP(f), nil
}

// ExitKilled is the code a crashed node reports, a SIGKILLed process's.
const ExitKilled = 137

// Crash takes node i off the network at once, then stops it: its peers
// hear nothing more from it (no goodbye, no resignation, no close reaches
// them), as when its machine dies.
func (m *Mesh) Crash(i int) {
	m.Net.Cut(i, true, true)
	m.Nodes[i].Stop("crashed", ExitKilled)
}

// Close stops every node (gracefully, as SIGTERM would), their hosts and
// the network.
func (m *Mesh) Close() {
	for _, n := range m.Nodes {
		if n.Attached != nil {
			_ = n.Attached.Close()
		}
		_ = n.Host.Close()
	}
	m.Net.sim.Close()
}
