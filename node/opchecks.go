package node

import (
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/opchecks"
)

// registerOperatorChecks registers the checks of the configuration's
// checks: section, after the node's own.
func registerOperatorChecks(c Config, hm *health.Manager, n *p2p.Node) error {
	checks, err := c.Checks.Checks(opchecks.Mesh{Pinger: checkPinger{n.Host}, Getter: dhtGetter{n}})
	if err != nil {
		return err
	}
	for _, ch := range checks {
		if err := hm.Register(ch); err != nil {
			return err
		}
	}
	return nil
}

// checkPinger pings with the host's libp2p ping protocol, which every
// meshhealth node (and most libp2p nodes) serves. As the suspicion's
// hostPinger, it closes a link it opened only for the ping: a check is
// not a reason to keep a link.
type checkPinger struct{ h host.Host }

func (p checkPinger) Ping(ctx context.Context, ai peer.AddrInfo) (time.Duration, error) {
	if len(ai.Addrs) > 0 {
		// Where the configuration says the peer is; kept briefly, as an
		// address learnt from a peer would be.
		p.h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
	}
	if p.h.Network().Connectedness(ai.ID) != network.Connected {
		defer p.h.Network().ClosePeer(ai.ID)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the pinging goroutine after the first answer
	r, ok := <-ping.Ping(ctx, p.h, ai.ID)
	switch {
	case !ok && ctx.Err() != nil:
		return 0, ctx.Err()
	case !ok:
		return 0, errors.New("ping ended without a result")
	}
	return r.RTT, r.Error
}

// dhtGetter reads the node's DHT, whose validator judges the record.
type dhtGetter struct{ n *p2p.Node }

func (g dhtGetter) GetValue(ctx context.Context, key string) ([]byte, error) {
	return g.n.DHT.GetValue(ctx, key)
}
