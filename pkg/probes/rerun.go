package probes

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
)

// Runner runs a check again at once and shows the checks' states:
// health.Manager is one.
type Runner interface {
	Trigger(check string)
	Snapshot() *health.Snapshot
}

// Reruns says which checks run again at once on the mesh's events, instead
// of on their next interval. Its methods are listeners the node hands to
// the host's connection events and to the liveness view.
type Reruns struct{ r Runner }

// NewReruns re-runs checks on r.
func NewReruns(r Runner) Reruns { return Reruns{r} }

// rejoinChecks are re-run at once on a new connection while they fail.
var rejoinChecks = []string{CheckPubSubRoundTrip, CheckDHTIntegrity, CheckElection}

// PeerChanged re-runs p2p-connectivity when a peer dies or leaves, since
// it may have been the last, and when one comes back from either.
func (x Reruns) PeerChanged(ch liveness.Change) {
	if ch.To == liveness.Dead || ch.To == liveness.Left || ch.From == liveness.Dead || ch.From == liveness.Left {
		x.r.Trigger(CheckConnectivity)
	}
}

// Disconnected re-runs p2p-connectivity when a peer's last connection
// closes, so losing the last peer is noticed in a retry or two.
func (x Reruns) Disconnected(peer.ID) { x.r.Trigger(CheckConnectivity) }

// Connected re-runs p2p-connectivity on a new connection too, so a node
// whose first peer arrives late in its startup grace is not stopped on a
// stale "0 peers". A node rejoining after a partition also clears its
// failing network checks now, not one interval later (30 s for the DHT
// probe); only failing ones, since a mesh forming must not run every probe
// once per new connection.
func (x Reruns) Connected() {
	x.r.Trigger(CheckConnectivity)
	snap := x.r.Snapshot()
	for _, name := range rejoinChecks {
		if v, ok := snap.Checks[name]; ok && v.State == health.StateFailing {
			x.r.Trigger(name)
		}
	}
}
