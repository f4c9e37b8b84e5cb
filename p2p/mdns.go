package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/zeroconf/v2"
	ma "github.com/multiformats/go-multiaddr"
)

// mDNS on a LAN of N nodes is a multicast conversation every node hears:
// one question draws N-1 answers, and every node's responder and browser
// parse each of them. go-libp2p's mDNS service keeps asking for as long as
// it runs (every minute once backed off), so a 50-node mesh parsed about
// 2,500 mDNS packets per node per minute at rest: a quarter of its CPU in
// a profile, more at start-up, and O(N^2) for the mesh. So a node answers
// questions all the time (a newcomer finds it) but asks them only while it
// lacks links: it stops browsing once it has its degree of connections and
// starts again when it has lost half of them. At rest, nobody asks and
// mDNS is silent. The wire format (service name, one "dnsaddr=" TXT record
// per address) is go-libp2p's, so other libp2p nodes on the LAN interoperate.

const (
	mdnsDomain = "local"
	// mdnsTXTPrefix marks a TXT record holding one of the node's multiaddrs.
	mdnsTXTPrefix = "dnsaddr="
	// mdnsPort is required by DNS-SD's SRV record; libp2p reads only TXT.
	mdnsPort = 4001
)

// rediscoverEvery is how often discovery looks at the node's links: a node
// with none asks again at once (a lost question costs at most this long),
// and a node whose links crossed its thresholds starts or stops asking.
const rediscoverEvery = 5 * time.Second

// wantBrowse decides whether a node with conns connections should be asking
// for peers, given whether it is now: it asks until it has degree links and
// starts again below half of them, so a node hovering around its degree
// does not restart its questions (each one draws an answer from every node)
// at every connection that comes and goes. degree 0 always asks.
func wantBrowse(browsing bool, conns, degree int) bool {
	if degree <= 0 {
		return true
	}
	if browsing {
		return conns < degree
	}
	return conns < max(1, degree/2)
}

// mdnsDiscovery answers mDNS questions for the host and asks them while it
// has fewer than degree connections, handing every peer it hears of to the
// notifee.
type mdnsDiscovery struct {
	conns   func() int
	degree  int
	notifee *mdnsNotifee
	log     *slog.Logger
	server  interface{ Shutdown() }
	// browse asks for peers until ctx ends, passing each sighting to found.
	browse func(ctx context.Context, found func(peer.AddrInfo))
	// wake asks the control loop to look at the links now (a sighting
	// arrived with the degree reached).
	wake chan struct{}

	mu       sync.Mutex
	cancel   context.CancelFunc // of the running browse; nil when not asking
	browsers sync.WaitGroup
	closed   bool
}

// startMDNS announces h on the local link under service and starts asking
// for peers; run keeps the asking in step with h's connections.
func startMDNS(h host.Host, service string, degree int, r *redialer, admit func(peer.ID) bool, log *slog.Logger) (*mdnsDiscovery, error) {
	addrs, err := h.Network().InterfaceListenAddresses()
	if err != nil {
		return nil, fmt.Errorf("mdns: listen addresses: %w", err)
	}
	ips, txt, ipType := mdnsRecords(h.ID(), addrs)
	if len(ips) == 0 {
		return nil, fmt.Errorf("mdns: no IP listen address among %v", addrs)
	}
	name := mdnsInstanceName()
	server, err := zeroconf.RegisterProxy(name, service, mdnsDomain, mdnsPort, name, ips, txt, nil)
	if err != nil {
		return nil, fmt.Errorf("mdns service %q: %w", service, err)
	}
	d := &mdnsDiscovery{
		conns:   func() int { return len(h.Network().Peers()) },
		degree:  degree,
		notifee: &mdnsNotifee{h: h, redial: r, degree: degree, admit: admit, log: log},
		log:     log,
		server:  server,
		wake:    make(chan struct{}, 1),
	}
	d.browse = func(ctx context.Context, found func(peer.AddrInfo)) {
		browseZeroconf(ctx, service, ipType, found, log)
	}
	d.startBrowsing()
	return d, nil
}

// mdnsRecords returns what the node announces: its first IPv4 and first
// IPv6 address (the A and AAAA records), a TXT record per IP multiaddr, and
// the address families to ask on.
func mdnsRecords(self peer.ID, addrs []ma.Multiaddr) (ips, txt []string, families zeroconf.IPType) {
	var ip4, ip6 string
	p2pPart, err := ma.NewComponent("p2p", self.String())
	if err != nil {
		return nil, nil, 0
	}
	for _, a := range addrs {
		first, _ := ma.SplitFirst(a)
		if first == nil || !lanMultiaddr(a) {
			continue
		}
		switch first.Protocol().Code {
		case ma.P_IP4:
			families |= zeroconf.IPv4
			if ip4 == "" {
				ip4 = first.Value()
			}
		case ma.P_IP6:
			families |= zeroconf.IPv6
			if ip6 == "" {
				ip6 = first.Value()
			}
		default:
			continue
		}
		txt = append(txt, mdnsTXTPrefix+a.Encapsulate(p2pPart.Multiaddr()).String())
	}
	for _, ip := range []string{ip4, ip6} {
		if ip != "" {
			ips = append(ips, ip)
		}
	}
	return ips, txt, families
}

// lanMultiaddr reports whether a is dialable directly on the link: not
// through a relay and not a browser transport.
func lanMultiaddr(a ma.Multiaddr) bool {
	ok := true
	ma.ForEach(a, func(c ma.Component) bool {
		switch c.Protocol().Code {
		case ma.P_CIRCUIT, ma.P_WEBTRANSPORT, ma.P_WEBRTC, ma.P_WEBRTC_DIRECT, ma.P_WS, ma.P_WSS:
			ok = false
		}
		return ok
	})
	return ok
}

// mdnsInstanceName is a random DNS label: the instance name must be unique
// on the link, and the peer ID (too long for a label) travels in TXT.
func mdnsInstanceName() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 40)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// mdnsSightings parses a service entry's TXT records into peers.
func mdnsSightings(text []string) []peer.AddrInfo {
	var addrs []ma.Multiaddr
	for _, t := range text {
		s, ok := strings.CutPrefix(t, mdnsTXTPrefix)
		if !ok {
			continue
		}
		if a, err := ma.NewMultiaddr(s); err == nil {
			addrs = append(addrs, a)
		}
	}
	infos, err := peer.AddrInfosFromP2pAddrs(addrs...)
	if err != nil {
		return nil
	}
	return infos
}

// browseZeroconf asks for service on the families given until ctx ends.
func browseZeroconf(ctx context.Context, service string, families zeroconf.IPType, found func(peer.AddrInfo), log *slog.Logger) {
	entries := make(chan *zeroconf.ServiceEntry, 64)
	errc := make(chan error, 1)
	go func() {
		errc <- zeroconf.Browse(ctx, service, mdnsDomain, entries, zeroconf.SelectIPTraffic(families))
	}()
	for {
		select {
		case e, ok := <-entries:
			if !ok {
				<-errc
				return
			}
			for _, ai := range mdnsSightings(e.Text) {
				found(ai)
			}
		case err := <-errc:
			// Browse returns once its loop (the only sender) has ended.
			if err != nil && ctx.Err() == nil {
				log.Debug("mdns browse", "err", err)
			}
			return
		}
	}
}

// run keeps the asking in step with the node's links until ctx ends.
func (d *mdnsDiscovery) run(ctx context.Context) {
	t := time.NewTicker(rediscoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
		d.step(d.conns())
	}
}

// step applies wantBrowse to conns. A node with no link at all restarts
// its questions: the browser backs off to one question a minute, and a
// lone node's first questions may have been lost (a loaded LAN, 50 nodes
// starting at once).
func (d *mdnsDiscovery) step(conns int) {
	switch {
	case conns == 0:
		d.stopBrowsing()
		d.startBrowsing()
	case wantBrowse(d.browsing(), conns, d.degree):
		d.startBrowsing()
	default:
		d.stopBrowsing()
	}
}

func (d *mdnsDiscovery) browsing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel != nil
}

func (d *mdnsDiscovery) startBrowsing() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.browsers.Go(func() { d.browse(ctx, d.found) })
}

// stopBrowsing ends the running browse, if any, and waits for it.
func (d *mdnsDiscovery) stopBrowsing() {
	d.mu.Lock()
	cancel := d.cancel
	d.cancel = nil
	d.mu.Unlock()
	if cancel != nil {
		cancel()
		d.browsers.Wait()
	}
}

func (d *mdnsDiscovery) found(ai peer.AddrInfo) {
	d.notifee.HandlePeerFound(ai)
	if d.degree > 0 && d.conns() >= d.degree {
		kick(d.wake)
	}
}

// Close stops asking and answering.
func (d *mdnsDiscovery) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.stopBrowsing()
	if d.server != nil {
		d.server.Shutdown()
	}
	return nil
}

type mdnsNotifee struct {
	h      host.Host
	redial *redialer
	degree int // dial new sightings only below this many connections; 0: always
	// admit is the mesh's membership: a sighting of anyone else is
	// ignored (nil: everyone is admitted).
	admit func(peer.ID) bool
	log   *slog.Logger
}

// HandlePeerFound keeps a sighting connected while the node lacks links.
func (m *mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.h.ID() || len(ai.Addrs) == 0 {
		return
	}
	if m.admit != nil && !m.admit(ai.ID) {
		m.log.Debug("mdns sighting ignored: not a member", "peer", ai.ID)
		return
	}
	m.log.Debug("mdns peer found", "peer", ai.ID, "addrs", ai.Addrs)
	// The peerstore keeps the freshest addresses: the redialer's copy of
	// ai is from the first sighting.
	m.h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
	if m.degree > 0 && len(m.h.Network().Peers()) >= m.degree && !m.redial.has(ai.ID) {
		// Enough links; the mesh reaches this peer through them. A node
		// that loses its peers asks again and picks new ones.
		return
	}
	m.redial.add(ai, false)
}
