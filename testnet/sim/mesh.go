package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"sync"
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
	// Node adjusts node i's configuration after SimConfig (its host is
	// built before: the watermarks are NodeArgs').
	Node func(i int, c *node.Config)
	// NodeArgs are node flags (as a scenario's node_args) applied to
	// every node before SimConfig's settings, which win.
	NodeArgs []string
	// Log receives every node's log, tagged with its index (nil: none).
	Log *slog.Logger
}

// Node is one simulated node: its host and the meshhealth node attached.
type Node struct {
	Index int
	ID    peer.ID
	// Host, Attached and StartedAt change when the node restarts; read
	// them through the mesh (Observe) while a scenario runs.
	Host host.Host
	*node.Attached
	StartedAt time.Time

	key    crypto.PrivKey
	cfg    node.Config
	frozen bool
	paused pauses
}

// Mesh is N simulated nodes on one simulated network.
type Mesh struct {
	Net   *Network
	Nodes []*Node

	log *slog.Logger
	// Every host's watermarks: the node flags' (Config.NodeArgs).
	connLow, connHigh int
	mu                sync.Mutex
	exits             []Exit
	// asked are the node runs the mesh stopped (crash, restart, close):
	// their stops are no exits of their own.
	asked map[*node.Attached]bool
	// crashed are the node runs the mesh crashed: gone at once, as a
	// SIGKILLed process, whatever their stop still has to wind down
	// (its goodbye to peers it can no longer reach waits up to 3 s).
	crashed map[*node.Attached]bool
}

// SimConfig is the node configuration of a simulated node: the defaults,
// which the simulation is for, less what one process cannot have per node.
// mDNS is off (discovery is the bootstrap list) and the resources check
// is off: it measures the process (memory, goroutines, descriptors),
// which here is every node at once.
func SimConfig(dataDir string) node.Config {
	return simConfig(node.Default(), dataDir)
}

// simConfig is SimConfig over another base than the defaults (the node
// arguments of a scenario). Fault injection is on, as the testnet starts
// every node: the /debug/fault endpoint is not bound to any port here, and
// a scenario's fault and clear steps reach it through the node's handler.
func simConfig(c node.Config, dataDir string) node.Config {
	c.EnableFaultInjection = true
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
	base := node.Default()
	if len(cfg.NodeArgs) > 0 {
		c, _, err := node.Parse(cfg.NodeArgs, func(string) string { return "" }, io.Discard)
		if err != nil {
			return nil, fmt.Errorf("sim: node arguments: %w", err)
		}
		base = c
	}
	seed := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6d657368))
	m = &Mesh{Net: newNetwork(cfg.N, cfg.Net, seed), log: cfg.Log, asked: map[*node.Attached]bool{}, crashed: map[*node.Attached]bool{},
		connLow: base.P2P.ConnLow, connHigh: base.P2P.ConnHigh}
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
		m.Nodes = append(m.Nodes, &Node{Index: i, ID: h.ID(), Host: h, key: sk})
	}
	for i, n := range m.Nodes {
		c := simConfig(base, filepath.Join(cfg.DataDir, fmt.Sprintf("node-%d", i)))
		// What the host listens on; the host is built already.
		c.P2P.Listen = []string{listenAddr(i)}
		c.P2P.Bootstrap = m.bootstrap(i, cfg.Bootstrap, seed)
		if cfg.Node != nil {
			cfg.Node(i, &c)
		}
		n.cfg = c
		if err := m.attach(ctx, n); err != nil {
			return m, err
		}
	}
	return m, nil
}

// attach builds node n around its current host, and records the node's
// own stop (a confirmed critical failure) as an exit unless the mesh
// asked for it.
func (m *Mesh) attach(ctx context.Context, n *Node) error {
	a, err := node.Attach(ctx, n.cfg, node.Env{
		Host:      n.Host,
		Awareness: awarenessConfig(&n.paused),
	}, m.log.With("node", n.Index))
	if err != nil {
		return fmt.Errorf("sim: node %d: %w", n.Index, err)
	}
	m.mu.Lock()
	n.Attached, n.StartedAt = a, time.Now()
	m.mu.Unlock()
	go func() {
		code, reason := a.Wait()
		m.mu.Lock()
		defer m.mu.Unlock()
		if !m.asked[a] {
			m.exits = append(m.exits, Exit{Node: n.Index, Code: code, Reason: reason, At: time.Now()})
		}
	}()
	return nil
}

// Exit is a node that stopped by itself.
type Exit struct {
	Node   int
	Code   int
	Reason string
	At     time.Time
}

// Exits are the nodes that stopped by themselves so far (not crashed,
// restarted or closed by the mesh), in order.
func (m *Mesh) Exits() []Exit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.exits)
}

// awarenessConfig reads no kernel run-queue wait: the kernel's is real
// time and the whole process's, and would count every node starved
// whenever the process is busy; stalls (late ticks) still count, in
// virtual time. It reads the node's frozen time instead (Freeze), as all
// of its time waiting to run.
func awarenessConfig(p *pauses) awareness.Config {
	return awareness.Config{RunQueueWait: p.wait}
}

// pauses is how long a node has been frozen, in all.
type pauses struct {
	mu    sync.Mutex
	total time.Duration
	since time.Time // zero: not frozen now
}

func (p *pauses) wait() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.since.IsZero() {
		return p.total, true
	}
	return p.total + time.Since(p.since), true
}

func (p *pauses) set(frozen bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case frozen && p.since.IsZero():
		p.since = time.Now()
	case !frozen && !p.since.IsZero():
		p.total += time.Since(p.since)
		p.since = time.Time{}
	}
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

// connGracePeriod is p2p's (unexported there): a new connection is safe
// from trims for 10 s.
const connGracePeriod = 10 * time.Second

// newHost is node i's libp2p host: QUIC only, over its simulated endpoint.
func (m *Mesh) newHost(i int, sk crypto.PrivKey) (host.Host, error) {
	ip := addrOf(i)
	// The node's own host's watermarks and grace (p2p.NewHost), which a
	// host given to node.Attach keeps.
	cm, err := connmgr.NewConnManager(m.connLow, m.connHigh, connmgr.WithGracePeriod(connGracePeriod))
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
// them), as when its machine dies. It does not wait for the stop.
func (m *Mesh) Crash(i int) {
	m.Net.setDown(i, true)
	m.mu.Lock()
	n := m.Nodes[i]
	n.setFrozen(false)
	a := n.Attached
	m.asked[a], m.crashed[a] = true, true
	m.mu.Unlock()
	a.Stop("crashed", ExitKilled)
}

// Restart starts node i again, with its identity, address, data directory
// and configuration, once its current run has stopped: after a crash
// (graceful false: crashed now if it still runs) or a graceful stop
// (graceful true: it resigns and says goodbye first, as on SIGTERM). A
// partition or one-way cut of the node stays; a crash's or freeze's
// silence ends.
func (m *Mesh) Restart(ctx context.Context, i int, graceful bool) error {
	m.mu.Lock()
	n := m.Nodes[i]
	a := n.Attached
	m.asked[a] = true
	m.mu.Unlock()
	if graceful {
		// Stopped already (by itself) is no reason not to start again,
		// as the testnet restarts an exited process.
		_ = a.Close()
	} else {
		m.Crash(i)
		a.Wait()
	}
	// The node owns its host (it built GossipSub and the DHT on it), so
	// the host is closed with it; make sure before reusing its address.
	_ = n.Host.Close()
	h, err := m.newHost(i, n.key)
	if err != nil {
		return fmt.Errorf("sim: restart node %d: %w", i, err)
	}
	m.mu.Lock()
	n.Host = h
	n.setFrozen(false)
	m.mu.Unlock()
	m.Net.setDown(i, false)
	return m.attach(ctx, n)
}

// Freeze silences node i in both directions while its connections stay
// open, as a SIGSTOPped process's would: its peers hear nothing and see
// no close. One process cannot stop a set of goroutines, so the node
// itself runs on, hearing nothing; its awareness is told it is waiting to
// run all along (its run-queue wait grows with the clock), so it counts
// the freeze as its own lost time rather than its peers' silence, as a
// frozen process does once its first late tick shows it the pause.
// docs/TESTNET.md ("Sim mode") says what differs still. Thaw ends it.
func (m *Mesh) Freeze(i int) {
	m.mu.Lock()
	m.Nodes[i].setFrozen(true)
	m.mu.Unlock()
	m.Net.setDown(i, true)
}

// Thaw ends a freeze.
func (m *Mesh) Thaw(i int) {
	m.mu.Lock()
	m.Nodes[i].setFrozen(false)
	m.mu.Unlock()
	m.Net.setDown(i, false)
}

func (n *Node) setFrozen(on bool) {
	n.frozen = on
	n.paused.set(on)
}

// Close stops every node (gracefully, as SIGTERM would), their hosts and
// the network.
func (m *Mesh) Close() {
	m.mu.Lock()
	for _, n := range m.Nodes {
		if n.Attached != nil {
			m.asked[n.Attached] = true
		}
	}
	m.mu.Unlock()
	for _, n := range m.Nodes {
		if n.Attached != nil {
			_ = n.Attached.Close()
		}
		_ = n.Host.Close()
	}
	m.Net.sim.Close()
}
