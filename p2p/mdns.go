package p2p

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// startMDNS announces h on the local link under service and hands every
// peer it hears of to the redialer, which connects (each dial under its
// timeout) and keeps redialling it for a while if it drops, so a healed
// partition reconnects without waiting for the next mDNS query.
func startMDNS(h host.Host, service string, degree int, r *redialer, log *slog.Logger) (io.Closer, error) {
	svc := mdns.NewMdnsService(h, service, &mdnsNotifee{h: h, redial: r, degree: degree, log: log})
	if err := svc.Start(); err != nil {
		return nil, fmt.Errorf("mdns service %q: %w", service, err)
	}
	return svc, nil
}

type mdnsNotifee struct {
	h      host.Host
	redial *redialer
	degree int // dial new sightings only below this many connections; 0: always
	log    *slog.Logger
}

func (m *mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.h.ID() || len(ai.Addrs) == 0 {
		return
	}
	m.log.Debug("mdns peer found", "peer", ai.ID, "addrs", ai.Addrs)
	// The peerstore keeps the freshest addresses: the redialer's copy of
	// ai is from the first sighting.
	m.h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
	if m.degree > 0 && len(m.h.Network().Peers()) >= m.degree && !m.redial.has(ai.ID) {
		// Enough links; the mesh reaches this peer through them. A node
		// that loses its peers picks new ones at the next sightings.
		return
	}
	m.redial.add(ai, false)
}
