package probes

import (
	"context"
	"fmt"
	"time"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// CheckConnectivity is the name of the peer-count check.
const CheckConnectivity = "p2p-connectivity"

// PeerCounter reports how many peers the host is connected to right now.
type PeerCounter interface {
	ConnectedPeers() int
}

// Connectivity builds the critical p2p-connectivity check: it passes while
// the node has at least minPeers connected peers. The node re-runs it on
// every disconnect event (health.Manager.Trigger), so losing the last peer is
// noticed at once rather than on the next interval.
func Connectivity(peers PeerCounter, minPeers int, interval, timeout time.Duration) health.Check {
	return health.Check{
		Name:        CheckConnectivity,
		Component:   health.ComponentP2P,
		Description: "connected peers >= min_peers",
		Interval:    interval,
		Timeout:     timeout,
		Critical:    true,
		Checker: func(ctx context.Context) health.Result {
			n := peers.ConnectedPeers()
			r := health.Result{
				Healthy: n >= minPeers,
				Details: map[string]any{"connected_peers": n, "min_peers": minPeers},
			}
			if r.Healthy {
				r.Message = fmt.Sprintf("%d peers connected", n)
			} else {
				r.Message = fmt.Sprintf("%d peers connected, need at least %d", n, minPeers)
			}
			return r
		},
	}
}
