package node

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/meshview"
	"github.com/meshhealth/meshhealth/pkg/recovery"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// registerMeshView serves GET /health/mesh, its event stream and the
// dashboard at GET /, all read from the node's one liveness view and its
// summary book.
func registerMeshView(s *HTTPServer, m *Mesh, hm *health.Manager, n *p2p.Node, sm *shutdown.Manager, rec *recovery.Driver, reg prometheus.Registerer) error {
	self := n.Host.ID()
	h := meshview.New(meshview.Source{
		Self: func() meshview.Self {
			snap := hm.Snapshot()
			leader, err := peer.Decode(snap.Leader)
			if err != nil {
				leader = ""
			}
			return meshview.Self{ID: self, Status: string(snap.Status), Score: snap.Score, Components: snap.Components,
				Peers: n.ConnectedPeers(), Leader: leader, Term: snap.Term, Version: Version, Recovering: recoveringStep(rec)}
		},
		Peers:      m.Peers.All,
		Summaries:  m.Summary.Peers,
		TTL:        m.Summary.TTL,
		GossipMesh: n.GossipMesh,
		Admit:      n.Admit,
		Refused:    n.Refused,
		// One cap for every stream: with /health/events it stays below
		// --max-http-connections, so dashboards never starve the probes.
		AcquireStream: hm.AcquireStream,
		MaxStreams:    hm.MaxEventStreams(),
	})
	h.Register(s)
	// Open dashboards end as the stop begins, so they never hold the drain.
	sm.AddHook(shutdown.PhasePreShutdown, "mesh-streams", func(context.Context) error { h.Close(); return nil })
	// Members by state are meshhealth_peers{state}; only the disagreements
	// are new. Computed at scrape time: O(members).
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "meshhealth_mesh_disagreements",
		Help: "Members this node holds suspect or dead while their current summary says healthy or degraded, or alive while it says unhealthy.",
	}, func() float64 { return float64(h.Mesh().Totals.Disagreements) }))
}
