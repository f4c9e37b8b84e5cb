package probes

import (
	"context"
	"fmt"
	"time"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// CheckConnectivity is the name of the peer-count check.
const CheckConnectivity = "p2p-connectivity"

// PeerCounter reports how many peers the host is connected to right now
// (the node counts only those its liveness view does not hold dead or
// departed).
type PeerCounter interface {
	ConnectedPeers() int
}

// DepartureCounter is an optional extension of PeerCounter: how many peers
// said goodbye and have not come back.
type DepartureCounter interface {
	LeftPeers() int
}

// RefusalCounter is an optional extension of PeerCounter: how many peers
// refused this node lately (closed its connections before identify, which
// is what a mesh whose membership does not admit it looks like).
type RefusalCounter interface {
	RefusedBy() int
}

// KeyMetrics receives the figures a check shows in /health/summary
// (health.Manager.SetKeyMetric): each check names and sets its own, as it
// reads them.
type KeyMetrics interface {
	SetKeyMetric(name string, v any)
}

// Connectivity builds the critical p2p-connectivity check: it passes while
// the node has at least minPeers connected peers. The node re-runs it on
// every disconnect event (health.Manager.Trigger), so losing the last peer is
// noticed at once rather than on the next interval.
//
// Leaving is not failing: when the peers that are missing said goodbye
// (peers plus departures reach minPeers), the check passes degraded ("its
// last peer left") instead of failing, so the survivor of a two-node mesh
// in a rolling restart stays up, and is healthy again when a peer returns.
// min_peers keeps its meaning for a node that never had peers or lost them
// without a goodbye.
//
// Each run shows its count as the key metric connected_peers on km (nil:
// nowhere).
func Connectivity(peers PeerCounter, minPeers int, interval, timeout time.Duration, km KeyMetrics) health.Check {
	return health.Check{
		Name:        CheckConnectivity,
		Component:   health.ComponentP2P,
		Description: "connected peers >= min_peers",
		Interval:    interval,
		Timeout:     timeout,
		Critical:    true,
		Checker: func(ctx context.Context) health.Result {
			n := peers.ConnectedPeers()
			if km != nil {
				km.SetKeyMetric("connected_peers", n)
			}
			r := health.Result{
				Healthy: n >= minPeers,
				Details: map[string]any{"connected_peers": n, "min_peers": minPeers},
			}
			left := 0
			if d, ok := peers.(DepartureCounter); ok && !r.Healthy {
				left = d.LeftPeers()
				r.Details["left_peers"] = left
			}
			switch {
			case r.Healthy:
				r.Message = fmt.Sprintf("%d peers connected", n)
			case n+left >= minPeers:
				r.Healthy, r.Degraded = true, true
				what := "its last peer left"
				if n > 0 {
					what = fmt.Sprintf("%d peers left", left)
				}
				r.Message = fmt.Sprintf("%s: %d peers connected, fewer than min_peers %d, and the missing said goodbye", what, n, minPeers)
			default:
				r.Message = fmt.Sprintf("%d peers connected, need at least %d", n, minPeers)
				if rc, ok := peers.(RefusalCounter); ok {
					if k := rc.RefusedBy(); k > 0 {
						r.Details["refused_by"] = k
						r.Message += fmt.Sprintf("; refused by %d peers in the last minute (closed before identify): is this node on the mesh's allow-list?", k)
					}
				}
			}
			return r
		},
	}
}
