package node

import (
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/metrics"
	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/probes"
)

// registerBasicChecks registers the checks that need only the host: peer
// count and process resources.
func registerBasicChecks(c Config, hm *health.Manager, n *p2p.Node, m *Mesh, reg prometheus.Registerer, log *slog.Logger) error {
	peers := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "meshhealth_connected_peers",
		Help: "Peers the libp2p host is connected to.",
	}, func() float64 { return float64(n.ConnectedPeers()) })
	if err := metrics.Register(reg, peers); err != nil {
		return err
	}
	counter := livePeers{n, m.Peers}
	if p := c.Probes.Connectivity; p.Enabled {
		if err := hm.Register(probes.Connectivity(counter, c.MinPeers, p.Interval, p.Timeout, hm)); err != nil {
			return err
		}
		rerun := probes.NewReruns(hm)
		n.OnDisconnect(rerun.Disconnected)
		n.Host.Network().Notify(&network.NotifyBundle{
			ConnectedF: func(network.Network, network.Conn) { rerun.Connected() },
		})
		// A new peer counts once identify completes (livePeers): look
		// again then.
		n.OnIdentified(func(peer.ID) { rerun.Connected() })
	}
	if p := c.Probes.Resources; p.Enabled {
		if err := hm.Register(probes.Resources(c.P2P.DataDir, c.Resources, nil, p.Interval, p.Timeout, hm)); err != nil {
			return err
		}
	}
	return nil
}

// livePeers counts peers for p2p-connectivity: connected peers with which
// identify has completed (a mesh whose allow-list leaves this node out
// accepts its connections' handshakes and closes them at once: counted,
// they made a refused node pass for a moment at every redial) and that the
// liveness view does not hold dead (a frozen or partitioned peer keeps its
// TCP connection for a while) or departed (a leaver's connection outlives
// its goodbye for a moment).
type livePeers struct {
	n     *p2p.Node
	peers *liveness.View
}

func (k livePeers) ConnectedPeers() int {
	c := 0
	for _, id := range k.n.Host.Network().Peers() {
		if k.n.Identified(id) && !k.peers.Gone(id) {
			c++
		}
	}
	return c
}

// RefusedBy counts the peers that refused this node lately (p2p.Node.RefusedBy).
func (k livePeers) RefusedBy() int { return k.n.RefusedBy() }

// LeftPeers counts the peers that said goodbye and have not come back.
func (k livePeers) LeftPeers() int { return k.peers.Counts()[liveness.Left] }

// registerFaults makes every breakable component available to /debug/fault.
func registerFaults(f *Faults, hm *health.Manager, n *p2p.Node) {
	if f == nil {
		return
	}
	f.Add("network", "isolate", n.Isolate)
	f.Add("scheduler", "stall", func(on bool) {
		if on {
			// Long enough to be seen by every detector; cleared by {"clear":true}.
			hm.StallFor(time.Hour)
		} else {
			hm.StallFor(0)
		}
	})
}
