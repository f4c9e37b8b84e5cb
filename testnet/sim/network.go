package sim

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/marcopolo/simnet"
)

// port is every simulated node's UDP port; nodes differ by address.
const port = 4001

// addrOf is node i's simulated address, in the testnet's own range
// (198.18.0.0/15): nothing leaves the process, but an address that escaped
// into a log or a dial would still name no one outside.
func addrOf(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
}

// Network is the simulated network: simnet's links (bandwidth, MTU) and
// router (latency), plus the faults simnet does not model, applied where
// each node's packets enter it: partitions, one-way cuts and loss.
//
// Latency is per link: a packet from a to b takes Base plus a's and b's own
// extra delay, each drawn once from the seed, so a node far from the
// others is far from all of them, as a node in another zone would be.
type Network struct {
	sim   *simnet.Simnet
	index map[netip.Addr]int // fixed before Start, read-only after
	base  time.Duration
	extra []time.Duration
	link  simnet.NodeBiDiLinkSettings

	mu    sync.Mutex
	group []int // nodes talk only within their group; 0 is everyone's
	noIn  []bool
	noOut []bool
	// down is a node whose machine is gone or frozen: nothing in or out,
	// whatever the partition; it outlives Heal, which is about links.
	down []bool
	loss float64
	rng  *rand.Rand // loss draws, from the seed
}

// NetConfig is the network's shape.
type NetConfig struct {
	// Latency is every link's one-way base latency (default 1 ms: a LAN).
	Latency time.Duration
	// Jitter bounds each node's own extra one-way latency, drawn once per
	// node from the seed (0: every link alike).
	Jitter time.Duration
	// BitsPerSecond is each node's uplink and downlink bandwidth (default
	// 100 Mbit/s).
	BitsPerSecond int
}

func newNetwork(n int, cfg NetConfig, seed *rand.Rand) *Network {
	if cfg.Latency <= 0 {
		cfg.Latency = time.Millisecond
	}
	if cfg.BitsPerSecond <= 0 {
		cfg.BitsPerSecond = 100_000_000
	}
	nw := &Network{
		index: make(map[netip.Addr]int, n),
		base:  cfg.Latency,
		extra: make([]time.Duration, n),
		link: simnet.NodeBiDiLinkSettings{
			Uplink:   simnet.LinkSettings{BitsPerSecond: cfg.BitsPerSecond},
			Downlink: simnet.LinkSettings{BitsPerSecond: cfg.BitsPerSecond},
		},
		group: make([]int, n),
		noIn:  make([]bool, n),
		noOut: make([]bool, n),
		down:  make([]bool, n),
		rng:   rand.New(rand.NewPCG(seed.Uint64(), seed.Uint64())),
	}
	for i := range n {
		nw.index[addrOf(i)] = i
		if cfg.Jitter > 0 {
			nw.extra[i] = time.Duration(seed.Int64N(int64(cfg.Jitter) + 1))
		}
	}
	nw.sim = &simnet.Simnet{LatencyFunc: nw.latency}
	return nw
}

func (nw *Network) nodeOf(a net.Addr) (int, bool) {
	u, ok := a.(*net.UDPAddr)
	if !ok {
		return 0, false
	}
	ip, ok := netip.AddrFromSlice(u.IP)
	if !ok {
		return 0, false
	}
	i, ok := nw.index[ip.Unmap()]
	return i, ok
}

func (nw *Network) latency(p *simnet.Packet) time.Duration {
	d := nw.base
	if i, ok := nw.nodeOf(p.From); ok {
		d += nw.extra[i]
	}
	if i, ok := nw.nodeOf(p.To); ok {
		d += nw.extra[i]
	}
	return d
}

// endpoint is node i's packet connection: simnet's, behind the faults.
func (nw *Network) endpoint(i int, addr *net.UDPAddr) net.PacketConn {
	return &faultConn{PacketConn: nw.sim.NewEndpoint(addr, nw.link), nw: nw, self: i}
}

// passes decides whether one packet from node a reaches node b.
func (nw *Network) passes(a, b int) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.group[a] != nw.group[b] || nw.noOut[a] || nw.noIn[b] || nw.down[a] || nw.down[b] {
		return false
	}
	return nw.loss == 0 || nw.rng.Float64() >= nw.loss
}

// Partition splits the network: each group reaches only its own members,
// and the nodes in no group reach only each other. It replaces any earlier
// partition; one-way cuts and loss stay.
func (nw *Network) Partition(groups ...[]int) error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	next := make([]int, len(nw.group))
	for g, members := range groups {
		for _, i := range members {
			if i < 0 || i >= len(next) {
				return fmt.Errorf("partition: no node %d", i)
			}
			next[i] = g + 1
		}
	}
	nw.group = next
	return nil
}

// Isolate cuts node i off from every other node, as its link going down
// would (on: true), or puts it back among those in no group (on: false).
// Other nodes' groups stay.
func (nw *Network) Isolate(i int, on bool) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if on {
		// A group of its own: Partition numbers its groups from 1 up,
		// so a negative number is nobody else's.
		nw.group[i] = -1 - i
	} else {
		nw.group[i] = 0
	}
}

// Isolated says whether node i is in a group of its own or another
// partition's group: whether it is cut off from the nodes in no group.
func (nw *Network) Isolated(i int) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.group[i] != 0
}

// setDown takes node i off the network in both directions (a crash, a
// freeze) or puts it back.
func (nw *Network) setDown(i int, down bool) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.down[i] = down
}

// Cut stops node i's inbound packets, outbound packets, or both (a
// one-way fault: inbound-only cuts what it hears, outbound-only what it
// says); Cut(i, false, false) restores both.
func (nw *Network) Cut(i int, in, out bool) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.noIn[i], nw.noOut[i] = in, out
}

// Loss drops each packet with probability p, drawn from the seed.
func (nw *Network) Loss(p float64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.loss = p
}

// Heal lifts every partition, cut and loss (a crashed or frozen node
// stays off the network).
func (nw *Network) Heal() {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.group)
	clear(nw.noIn)
	clear(nw.noOut)
	nw.loss = 0
}

// faultConn drops what the network's faults say is lost, as a silent
// network does: the sender's write succeeds, the packet never arrives.
type faultConn struct {
	net.PacketConn
	nw   *Network
	self int
}

func (c *faultConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if to, ok := c.nw.nodeOf(addr); ok && !c.nw.passes(c.self, to) {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

// SetReadBuffer and SetWriteBuffer reach simnet's, so quic-go sizes its
// buffers as on a socket (and does not warn that it cannot).
func (c *faultConn) SetReadBuffer(n int) error {
	if b, ok := c.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
		return b.SetReadBuffer(n)
	}
	return nil
}

func (c *faultConn) SetWriteBuffer(n int) error {
	if b, ok := c.PacketConn.(interface{ SetWriteBuffer(int) error }); ok {
		return b.SetWriteBuffer(n)
	}
	return nil
}
