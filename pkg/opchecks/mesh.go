package opchecks

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// Pinger pings a peer over libp2p (the node's host), dialling it at the
// addresses given or those it knows, and returns the round trip.
type Pinger interface {
	Ping(ctx context.Context, p peer.AddrInfo) (time.Duration, error)
}

// Getter reads a key of the node's DHT; the value it returns has passed
// the DHT's validator for the key's namespace.
type Getter interface {
	GetValue(ctx context.Context, key string) ([]byte, error)
}

func peerChecker(ai peer.AddrInfo, p Pinger) health.Checker {
	return func(ctx context.Context) health.Result {
		start := time.Now()
		rtt, err := p.Ping(ctx, ai)
		lat := time.Since(start)
		if err != nil {
			return health.Result{Message: fmt.Sprintf("ping %s: %v", ai.ID, err), Err: err, Latency: lat}
		}
		return health.Result{Healthy: true, Message: fmt.Sprintf("ping %s: %s", ai.ID, rtt.Round(time.Microsecond)),
			Details: map[string]any{"rtt_seconds": rtt.Seconds()}, Latency: lat}
	}
}

func dhtGetChecker(key string, g Getter) health.Checker {
	return func(ctx context.Context) health.Result {
		start := time.Now()
		v, err := g.GetValue(ctx, key)
		lat := time.Since(start)
		if err != nil {
			return health.Result{Message: fmt.Sprintf("get %s: %v", key, err), Err: err, Latency: lat}
		}
		return health.Result{Healthy: true, Message: fmt.Sprintf("%s resolved (%d bytes)", key, len(v)), Latency: lat}
	}
}
