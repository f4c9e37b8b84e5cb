package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// connGracePeriod keeps a new connection safe from trimming while identify
// and GossipSub's subscriptions run on it and a heartbeat (1 s) grafts the
// newcomer into a mesh, which protects it from then on: so a node that
// joins a mesh whose nodes are all at their high watermark is not trimmed
// away by every one of them before any takes it in. 10 s, where it was
// libp2p's usual 30 s to a minute: a connection a DHT query or a ping opened
// for one request is held that long (and at most one trim interval, 10 s,
// more) past its use, and a health mesh at its bound should not carry many.
const connGracePeriod = 10 * time.Second

// quicFallback is how long a dial waits for a peer's TCP addresses before
// it tries its QUIC ones as well.
const quicFallback = time.Second

// tcpFirst dials a peer's TCP addresses at once and its QUIC addresses only
// if TCP has not connected within quicFallback. go-libp2p's default ranker
// prefers QUIC, which suits the internet (one round trip less, no
// head-of-line blocking). A health mesh on a LAN is the opposite case:
// hundreds of small messages a second on long-lived connections, where
// QUIC does its acknowledgements, pacing and encryption per packet in this
// process while TCP leaves the first two to the kernel. Measured on 10
// netns nodes, the same traffic cost each node about a fifth less CPU over
// TCP (docs/BENCHMARKS.md). The default ranker also starts TCP 30 ms
// after QUIC on a private network, so a loaded machine, where a QUIC
// handshake takes longer than that, paid for two handshakes per peer.
func tcpFirst(addrs []ma.Multiaddr) []network.AddrDelay {
	out := make([]network.AddrDelay, 0, len(addrs))
	for _, a := range addrs {
		var d time.Duration
		if _, err := a.ValueForProtocol(ma.P_TCP); err != nil {
			d = quicFallback
		}
		out = append(out, network.AddrDelay{Addr: a, Delay: d})
	}
	return out
}

// UserAgent is what identify tells peers this node runs.
const UserAgent = "meshhealth"

// NewHost builds the node's libp2p host: TCP and QUIC v1, Noise and TLS,
// yamux, the connection manager (cfg.ConnLow/ConnHigh), the resource manager
// with go-libp2p's default scaled limits, and gater. go-libp2p's own metrics
// go to reg (nil turns them off; never the global registry).
//
// Everything that would reach beyond the mesh is left out: no relay (neither
// client nor service), no NAT port mapping, no AutoNAT service, no hole
// punching, and no WebSocket, WebTransport or WebRTC transports.
func NewHost(cfg Config, key crypto.PrivKey, gater *Gater, reg prometheus.Registerer) (host.Host, error) {
	if key == nil {
		return nil, errors.New("p2p host: no identity key")
	}
	cm, err := connmgr.NewConnManager(cfg.ConnLow, cfg.ConnHigh, connmgr.WithGracePeriod(connGracePeriod))
	if err != nil {
		return nil, fmt.Errorf("p2p host: connection manager: %w", err)
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	// The resource manager's own metrics are off: they relabel a dozen
	// series at every stream open, close and memory reservation (a tenth
	// of an idle node's CPU in a profile), and nothing here reads them.
	// libp2p's other metrics (swarm, identify, eventbus) stay.
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()), rcmgr.WithMetricsDisabled())
	if err != nil {
		cm.Close()
		return nil, fmt.Errorf("p2p host: resource manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.Listen...),
		// Without SO_REUSEPORT a port already in use fails the listen, so
		// a second node on the same port is a start-up error. With it (the
		// go-libp2p default, for NAT traversal this mesh does not do) the
		// kernel let both bind and split inbound dials between them, and
		// dialers saw "peer id mismatch".
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(tls.ID, tls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.DisableRelay(),
		libp2p.UserAgent(UserAgent),
		libp2p.SwarmOpts(swarm.WithDialRanker(tcpFirst)),
	}
	if gater != nil {
		opts = append(opts, libp2p.ConnectionGater(gater))
	}
	if reg != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(reg))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		// libp2p.New releases what it was given only on some error paths;
		// both closes are idempotent.
		rm.Close()
		cm.Close()
		return nil, fmt.Errorf("p2p host: %w", err)
	}
	return h, nil
}
