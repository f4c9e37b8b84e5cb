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
	counter := keyMetricPeers{n, hm, m.Peers}
	if p := c.Probes.Connectivity; p.Enabled {
		if err := hm.Register(probes.Connectivity(counter, c.MinPeers, p.Interval, p.Timeout)); err != nil {
			return err
		}
		// Losing a peer re-runs the check at once instead of on the next
		// interval, so losing the last one is noticed in a retry or two;
		// gaining one does too, so a node whose first peer arrives late in
		// its startup grace is not stopped on a stale "0 peers".
		n.OnDisconnect(func(peer.ID) { hm.Trigger(probes.CheckConnectivity) })
		n.Host.Network().Notify(&network.NotifyBundle{
			ConnectedF: func(network.Network, network.Conn) {
				hm.Trigger(probes.CheckConnectivity)
				// A node rejoining after a partition clears its failing
				// network checks now, not one interval later (30 s for the
				// DHT probe). Only failing ones: a mesh forming must not run
				// every probe once per new connection.
				snap := hm.Snapshot()
				for _, name := range rejoinChecks {
					if v, ok := snap.Checks[name]; ok && v.State == health.StateFailing {
						hm.Trigger(name)
					}
				}
			},
		})
	}
	if p := c.Probes.Resources; p.Enabled {
		report := func(u map[string]float64) { hm.SetKeyMetric("resource_utilization", u) }
		if err := hm.Register(probes.Resources(c.P2P.DataDir, c.Resources, nil, p.Interval, p.Timeout, report)); err != nil {
			return err
		}
	}
	return nil
}

// rejoinChecks are re-run at once on a new connection while they fail.
var rejoinChecks = []string{probes.CheckPubSubRoundTrip, probes.CheckDHTIntegrity, probes.CheckElection}

// keyMetricPeers counts peers for p2p-connectivity and shows the count in
// /health/summary: connected peers the liveness view does not hold dead
// (a frozen or partitioned peer keeps its TCP connection for a while) or
// departed (a leaver's connection outlives its goodbye for a moment).
type keyMetricPeers struct {
	n     *p2p.Node
	hm    *health.Manager
	peers *liveness.View
}

func (k keyMetricPeers) ConnectedPeers() int {
	c := 0
	for _, id := range k.n.Host.Network().Peers() {
		if !k.peers.Gone(id) {
			c++
		}
	}
	k.hm.SetKeyMetric("connected_peers", c)
	return c
}

// LeftPeers counts the peers that said goodbye and have not come back.
func (k keyMetricPeers) LeftPeers() int { return k.peers.Counts()[liveness.Left] }

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
