package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// startMDNS announces h on the local link under service and hands every
// peer it hears of to the redialer, which connects (each dial under its
// timeout) and keeps redialling it for a while if it drops, so a healed
// partition reconnects without waiting for the next mDNS query.
func startMDNS(h host.Host, service string, degree int, r *redialer, log *slog.Logger) (*mdnsDiscovery, error) {
	d := &mdnsDiscovery{h: h, service: service, notifee: &mdnsNotifee{h: h, redial: r, degree: degree, log: log}}
	if err := d.restart(); err != nil {
		return nil, err
	}
	return d, nil
}

// mdnsDiscovery is the mDNS service, restartable. go-libp2p's mDNS browser
// stops asking once it has heard one answer, and backs off its questions
// up to a minute before that: a node whose first answers were lost (a
// loaded LAN, 50 nodes starting at once) could wait a minute alone. A node
// with no connection restarts it, which asks again at once.
type mdnsDiscovery struct {
	h       host.Host
	service string
	notifee *mdnsNotifee

	mu     sync.Mutex
	svc    mdns.Service
	closed bool
}

// rediscoverEvery is how often a node without any connection asks again.
const rediscoverEvery = 5 * time.Second

func (d *mdnsDiscovery) restart() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	if d.svc != nil {
		_ = d.svc.Close()
	}
	d.svc = mdns.NewMdnsService(d.h, d.service, d.notifee)
	if err := d.svc.Start(); err != nil {
		d.svc = nil
		return fmt.Errorf("mdns service %q: %w", d.service, err)
	}
	return nil
}

// rediscover restarts discovery every rediscoverEvery while the node has no
// connection, until ctx ends.
func (d *mdnsDiscovery) rediscover(ctx context.Context) {
	t := time.NewTicker(rediscoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if len(d.h.Network().Peers()) == 0 {
			if err := d.restart(); err != nil {
				d.notifee.log.Debug("mdns restart", "err", err)
			}
		}
	}
}

// Close stops discovery.
func (d *mdnsDiscovery) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.svc == nil {
		return nil
	}
	err := d.svc.Close()
	d.svc = nil
	return err
}

type mdnsNotifee struct {
	h      host.Host
	redial *redialer
	degree int // dial new sightings only below this many connections; 0: always
	rand   func() float64
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
	if conns := len(m.h.Network().Peers()); m.degree > 0 && conns >= m.degree && !m.redial.has(ai.ID) {
		// Enough links; the mesh reaches this peer through them. A node
		// that loses its peers picks new ones at the next sightings. But
		// a peer this node is not connected to may be a newcomer with no
		// link at all, whose own questions went unanswered (a loaded
		// machine drops multicast): if every node with its degree
		// ignored its announcements, it would stay alone, and a late
		// node of a 50-node start did. So each such node dials it with
		// probability newcomerDials/conns, about newcomerDials dials in
		// all whatever the mesh's size; a newcomer re-announces every
		// rediscoverEvery while alone, so one unlucky round costs seconds.
		if m.h.Network().Connectedness(ai.ID) == network.Connected || m.random() >= newcomerDials/float64(conns) {
			return
		}
	}
	m.redial.add(ai, false)
}

// newcomerDials is how many nodes that already have their degree of links
// dial an unconnected peer's sighting, in expectation.
const newcomerDials = 4

func (m *mdnsNotifee) random() float64 {
	if m.rand != nil {
		return m.rand()
	}
	return rand.Float64()
}
