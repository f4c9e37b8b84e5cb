package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// DHTProtocolPrefix keeps the meshhealth DHT apart from the public IPFS one
// (/ipfs/kad/1.0.0): the two never exchange records or routing entries.
const DHTProtocolPrefix protocol.ID = "/meshhealth"

// flushTurns is how many round trips through GossipSub's event loop
// StopGossip makes before it waits for the queued messages to be written
// (a round trip costs microseconds).
const flushTurns = 20

// disconnectBuffer is how many disconnect events may wait for OnDisconnect
// callbacks; more than that in a burst are dropped (and logged): the
// callbacks re-run a check, so one pending event does the job of many.
const disconnectBuffer = 256

// Options are Start's extension points.
type Options struct {
	// Validators are DHT record validators by namespace. The "meshhealth"
	// namespace gets ShapeValidator unless this map names another; the DHT
	// integrity probe puts its signature-checking validator here. No other
	// namespace is accepted (in particular not the public DHT's pk and ipns:
	// nothing in this mesh publishes them).
	Validators map[string]record.Validator

	// PubSub options are applied after the node's GossipSub defaults, so
	// they can override them (tests shorten the heartbeat, for instance).
	PubSub []pubsub.Option

	// Members, when set, is who may be in the mesh: the gater, GossipSub,
	// the DHT and mDNS leave everyone else out (Membership). Nil admits
	// every peer. An attached node (Attach) applies it to its connections
	// and sightings only: the application's GossipSub and DHT take their
	// filters at construction.
	Members Membership

	// Registerer receives the GossipSub metrics (messages received and mesh
	// peers per meshhealth topic). New fills it with its own registerer when
	// it is nil; for Start, nil leaves the metrics out.
	Registerer prometheus.Registerer
}

// Node is a running libp2p node: host, GossipSub, DHT, discovery.
type Node struct {
	Host   host.Host
	PubSub *pubsub.PubSub
	DHT    *dht.IpfsDHT
	Gater  *Gater

	log     *slog.Logger
	cancel  context.CancelFunc
	degree  int // links sought: discovery dials only below it (Config.ConnLow)
	redial  *redialer
	mdns    io.Closer
	notifee *network.NotifyBundle
	events  chan peer.ID
	wg      sync.WaitGroup

	// stopGossip ends GossipSub alone (StopGossip); cancel ends it too.
	stopGossip context.CancelFunc
	outbox     *outbox

	gossip *pubsubMetrics // nil without a Registerer
	lost   *streamLoss    // nil on an application's GossipSub (resyncGossip)

	mu           sync.Mutex
	onDisconnect []func(peer.ID)

	// borrowed: the host, GossipSub and DHT are an application's own
	// (Attach), so Close leaves them open.
	borrowed bool

	identifiedMu sync.Mutex
	onIdentified []func(peer.ID)

	closeOnce sync.Once
	closeErr  error
}

// GossipMesh returns the peers in this node's GossipSub mesh for each
// meshhealth topic, as its tracer followed the grafts and prunes; nil when
// the node was started without metrics (no tracer).
func (n *Node) GossipMesh() map[string][]peer.ID {
	if n.gossip == nil {
		return nil
	}
	return n.gossip.meshSnapshot()
}

// Start builds GossipSub, the DHT and discovery on h, a real host (NewHost)
// or a mocknet one. The node runs until Close or until ctx is done; Close
// must be called in either case to release the DHT and the host.
//
// gater should be the one h was built with (NewHost); nil makes a fresh one,
// which Isolate still honours by closing connections as they open, though
// then only after they opened (this is how it works on mocknet, whose hosts
// take no gater).
func Start(ctx context.Context, h host.Host, cfg Config, gater *Gater, opts Options, log *slog.Logger) (*Node, error) {
	return start(ctx, h, nil, nil, cfg, gater, opts, log)
}

// Attach is Start on an application's own host, GossipSub and DHT: the
// node builds neither, and Close stops only what it started (its redials,
// mDNS, its event dispatch), leaving h, ps and d to the application.
//
// ps must sign and verify strictly (pubsub.StrictSign: the wire validators
// take a message's origin to be its author), and d must accept the
// meshhealth record namespace (opts.Validators are not applied to a DHT
// the node did not build: the application gives them to dht.New).
// opts.PubSub is ignored for the same reason, and no GossipSub metrics
// are kept (GossipMesh is nil): a tracer is set only at construction.
func Attach(ctx context.Context, h host.Host, ps *pubsub.PubSub, d *dht.IpfsDHT, cfg Config, opts Options, log *slog.Logger) (*Node, error) {
	if ps == nil || d == nil {
		return nil, errors.New("p2p: attach needs both the application's GossipSub and its DHT")
	}
	return start(ctx, h, ps, d, cfg, nil, opts, log)
}

// start is Start, or Attach when ps and d are given.
func start(ctx context.Context, h host.Host, ps *pubsub.PubSub, d *dht.IpfsDHT, cfg Config, gater *Gater, opts Options, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if gater == nil {
		gater = NewGater()
	}
	base := cfg.BootstrapInterval
	if base <= 0 {
		base = DefaultConfig().BootstrapInterval
	}
	boot, err := bootstrapPeers(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("p2p: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	n := &Node{
		Host:     h,
		Gater:    gater,
		log:      log,
		cancel:   cancel,
		events:   make(chan peer.ID, disconnectBuffer),
		borrowed: ps != nil,
	}
	gater.SetMembership(opts.Members, log)
	if opts.Registerer != nil {
		if err := gater.refusals.register(opts.Registerer); err != nil {
			cancel()
			return nil, fmt.Errorf("p2p: %w", err)
		}
	}
	n.redial = newRedialer(ctx, log, base, MaxRedialBackoff)
	n.redial.dial = func(ctx context.Context, ai peer.AddrInfo) error {
		gater.refusedBy.letNext(ai.ID)
		// Force past the swarm's own dial backoff (5 s growing to 5 min),
		// which would otherwise answer our redials without dialling.
		return h.Connect(network.WithForceDirectDial(ctx, "meshhealth redial"), ai)
	}
	n.redial.connected = func(p peer.ID) bool { return h.Network().Connectedness(p) == network.Connected }
	n.redial.isolated = gater.Isolated
	n.degree = cfg.ConnLow
	n.redial.wanted = n.wantLinks
	n.notifee = &network.NotifyBundle{ConnectedF: n.connected, DisconnectedF: n.disconnected}
	h.Network().Notify(n.notifee)

	if n.borrowed {
		n.DHT, n.PubSub = d, ps
	} else if err := n.build(ctx, boot, opts); err != nil {
		n.abort()
		return nil, err
	}

	n.wg.Add(1)
	go n.dispatch(ctx)
	if err := n.watchIdentify(ctx); err != nil {
		n.abort()
		return nil, fmt.Errorf("p2p: identify events: %w", err)
	}
	// Connections opened before the membership was set (the host listens
	// from NewHost on) are judged now.
	n.Enforce()

	for _, ai := range boot {
		if ai.ID == h.ID() {
			continue // a shared bootstrap list may name this node too
		}
		// Not protected from trims: a bootstrap peer is the way into the
		// mesh, not a link to keep, and a deployment whose every node lists
		// every other (a StatefulSet's pods) would otherwise be fully
		// connected whatever the watermarks.
		h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
		n.redial.add(ai, true)
	}
	if cfg.MDNS {
		// A node that cannot multicast (a container without it) still
		// works through its bootstrap peers, so this is not fatal.
		if d, err := startMDNS(h, cfg.MDNSService, cfg.ConnLow, n.redial, n.admit, log); err != nil {
			log.Warn("mDNS discovery unavailable", "err", err)
		} else {
			n.mdns = d
			n.wg.Go(func() { d.run(ctx) })
		}
	}
	if !n.borrowed {
		if err := n.DHT.Bootstrap(ctx); err != nil {
			log.Debug("dht bootstrap", "err", err)
		}
	}
	n.wg.Go(func() { n.topUp(ctx) })
	log.Debug("p2p node started", "peer_id", h.ID(), "addrs", h.Addrs(),
		"bootstrap_peers", len(boot), "mdns", n.mdns != nil)
	return n, nil
}

// build starts the node's own DHT and GossipSub on its host.
func (n *Node) build(ctx context.Context, boot []peer.AddrInfo, opts Options) error {
	var err error
	n.DHT, err = newDHT(n.Host, boot, opts.Validators, n.admit)
	if err != nil {
		return fmt.Errorf("p2p: dht: %w", err)
	}
	n.outbox = newOutbox()
	n.lost = newStreamLoss()
	psOpts := append([]pubsub.Option{pubsub.WithRawTracer(n.outbox), pubsub.WithRawTracer(n.lost)}, memberPubSub(n.admit)...)
	psOpts = append(psOpts, opts.PubSub...)
	if opts.Registerer != nil {
		m, err := newPubSubMetrics(opts.Registerer, append(wire.Topics(), wire.TopicProbeDirect))
		if err != nil {
			return fmt.Errorf("p2p: %w", err)
		}
		// Prepended so that a caller's own options still come last.
		psOpts = append([]pubsub.Option{pubsub.WithRawTracer(m)}, psOpts...)
		n.gossip = m
	}
	// GossipSub runs on a context of its own so that a leaving node can
	// stop it before anything else (StopGossip).
	gctx, stopGossip := context.WithCancel(ctx)
	n.stopGossip = stopGossip
	n.PubSub, err = newPubSub(gctx, n.Host, psOpts)
	if err != nil {
		return fmt.Errorf("p2p: pubsub: %w", err)
	}
	return nil
}

// abort undoes a Start that failed half way; the host stays the caller's.
func (n *Node) abort() {
	n.cancel()
	n.Host.Network().StopNotify(n.notifee)
	if n.DHT != nil && !n.borrowed {
		n.DHT.Close()
	}
}

// StopGossip stops GossipSub without leaving its topics, once the messages
// already published (a leaving node's resignation and goodbye) are written
// to their peers' streams or ctx ends; the host stays up until Close.
//
// This is how a node leaves. Leaving a topic (cancelling its last
// subscription) sends each mesh peer a PRUNE carrying GossipSub's
// unsubscribe backoff, and the peer keeps that backoff for the peer ID,
// past the process's exit: a node restarted within it has its GRAFT
// refused with a PRUNE that sets the full prune backoff (a minute) on both
// sides, and in a small mesh it stays out of every peer's mesh for that
// long. Stopped first, GossipSub sends nothing more; the peers drop the
// node from their mesh as they would a crashed one, without a backoff, and
// graft it again as soon as it is back. The topics the node's parts leave
// afterwards cost nothing (their Cancel and Close find GossipSub stopped),
// and whatever they publish then goes nowhere.
//
// It returns ctx's error if messages were still unwritten when it ended.
func (n *Node) StopGossip(ctx context.Context) error {
	if n.borrowed {
		return nil // the application's GossipSub: its to stop, not ours
	}
	// Publish returns once GossipSub's event loop has the message in its
	// inbox, before the loop has queued it for the peers, and no event
	// says when it has. Each round trip through the loop gives it turns in
	// which it picks one of its ready inputs at random, the inbox among
	// them; after flushTurns, a message published before is almost surely
	// queued, and so counted by the outbox.
	for range flushTurns {
		n.PubSub.ListPeers("")
	}
	err := n.outbox.drain(ctx)
	// A peer that sees the node's streams close reopens one at once, the
	// connection being still up: refused, it forgets the node, rather than
	// hold a stream nobody reads and skip the restarted node's connection
	// as one it already has.
	for _, id := range pubsub.GossipSubDefaultProtocols {
		n.Host.RemoveStreamHandler(id)
	}
	n.stopGossip()
	if err != nil {
		return fmt.Errorf("stop gossipsub: messages still unwritten: %w", err)
	}
	return nil
}

// Close stops discovery, the DHT, GossipSub and the host, in that order, and
// waits for the node's goroutines; an attached node (Attach) leaves the
// application's host, GossipSub and DHT open. It is safe to call more than
// once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel() // stops redials, mDNS dials and GossipSub
		var errs []error
		if n.mdns != nil {
			if err := n.mdns.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close mdns: %w", err))
			}
		}
		n.redial.wait()
		// Connections closing now are the node's own doing, not events.
		n.Host.Network().StopNotify(n.notifee)
		if !n.borrowed {
			if err := n.DHT.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close dht: %w", err))
			}
			if err := n.Host.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close host: %w", err))
			}
		}
		n.wg.Wait()
		n.closeErr = errors.Join(errs...)
		n.log.Debug("p2p node stopped")
	})
	return n.closeErr
}

// ConnectedPeers is the number of peers with at least one open connection.
func (n *Node) ConnectedPeers() int { return len(n.Host.Network().Peers()) }

// OnDisconnect registers fn to be called each time a peer's last
// connection closes, so the connectivity check can re-run at once. Calls come
// from one goroutine in event order; a slow fn delays the next ones, never
// the network.
func (n *Node) OnDisconnect(fn func(peer.ID)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onDisconnect = append(n.onDisconnect, fn)
}

// Isolate(true) closes every connection and refuses new ones, inbound and
// outbound, until Isolate(false): the "network isolate" fault and the
// testnet's local-mode partition. Lifting it redials bootstrap and known
// mDNS peers at once.
func (n *Node) Isolate(on bool) {
	n.Gater.SetIsolated(on)
	if !on {
		n.log.Warn("network isolation lifted")
		n.redial.kickAll()
		return
	}
	conns := n.Host.Network().Conns()
	for _, c := range conns {
		c.Close()
	}
	n.log.Warn("network isolated: connections closed, new ones refused", "closed", len(conns))
}

func (n *Node) connected(_ network.Network, c network.Conn) {
	if !n.Gater.member(c.RemotePeer(), "connected") {
		// The gater refused it on a real host unless the list changed in
		// between; on hosts without the gater (mocknet, an application's
		// own) this is where a non-member is turned away.
		go c.Close()
		return
	}
	if n.Gater.Isolated() {
		// The gater refuses connections on a real host; this catches one
		// that raced with Isolate, and every one on hosts without the gater.
		go c.Close()
	}
}

func (n *Node) disconnected(net network.Network, c network.Conn) {
	p := c.RemotePeer()
	if net.Connectedness(p) == network.Connected {
		return // another connection to p is still open
	}
	if n.wantLinks() {
		// Below the degree: every peer the redialer keeps may be dialled
		// again (bootstrap peers wait while the node has enough links).
		n.redial.kickAll()
	} else {
		n.redial.kick(p)
	}
	select {
	case n.events <- p:
	default:
		n.log.Warn("disconnect event dropped: callbacks are behind", "peer", p)
	}
}

// dispatch runs OnDisconnect callbacks off the swarm's notification path,
// which must never block.
func (n *Node) dispatch(ctx context.Context) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-n.events:
			n.mu.Lock()
			fns := n.onDisconnect
			n.mu.Unlock()
			for _, fn := range fns {
				fn(p)
			}
		}
	}
}
