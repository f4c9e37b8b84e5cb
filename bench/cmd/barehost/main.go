// Command barehost is the baseline of the idle-cost benchmark: a go-libp2p
// host configured as the node's (TCP and QUIC, Noise and TLS, yamux, the
// same connection and resource managers, no relay, the same GossipSub mesh
// degree and DHT lookup width), with GossipSub joined to
// the node's three topics and a Kademlia DHT server on the node's protocol
// prefix, and no health layer at all: no probes, no election, no HTTP, no
// scheduler. Its CPU and memory next to a node's are what the health layer
// costs.
//
// It imports only go-libp2p and its GossipSub and DHT, and of ours only
// p2p/conntags (the weighing of GossipSub's and the DHT's peers that
// keeps a host within its watermarks: without it a bare host held 25
// links at conn-high 16 where a node held 10), never the node's health
// layer, so it stays a baseline while the node changes.
//
// Usage: barehost -listen MULTIADDR [-bootstrap MULTIADDR/p2p/ID]...
// [-conn-low N -conn-high N]. It prints "addr MULTIADDR/p2p/ID" on stdout
// once listening, then "peers N" (connected peers) every -report, and runs
// until SIGINT or SIGTERM. The watermarks are the node's (the bench reads
// them from the node's --print-config), so the bare mesh has the node
// mesh's degree and the comparison is like for like.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/meshhealth/meshhealth/p2p/conntags"
)

// The node's topics and DHT prefix (docs/PROTOCOL.md), repeated here
// rather than imported so the baseline does not depend on the node.
var topics = []string{"meshhealth/probe/v1", "meshhealth/election/v1", "meshhealth/summary/v1"}

const dhtPrefix = "/meshhealth"

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var listen, boot listFlag
	flag.Var(&listen, "listen", "listen multiaddr (repeatable)")
	flag.Var(&boot, "bootstrap", "peer multiaddr with /p2p/ID to join (repeatable)")
	low := flag.Int("conn-low", 64, "connection manager low watermark (the node's conn_low)")
	high := flag.Int("conn-high", 128, "connection manager high watermark (the node's conn_high)")
	report := flag.Duration("report", 5*time.Second, "how often to print the connected peer count")
	flag.Parse()
	if len(listen) == 0 {
		listen = listFlag{"/ip4/127.0.0.1/tcp/0"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, listen, boot, *low, *high, *report); err != nil {
		fmt.Fprintln(os.Stderr, "barehost:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, boot []string, low, high int, report time.Duration) error {
	h, err := newHost(listen, low, high)
	if err != nil {
		return err
	}
	defer h.Close()

	// The node's GossipSub: its LAN mesh degree and no flood publishing
	// (p2p/pubsub.go), so the bare mesh forwards what the node's would.
	params := pubsub.DefaultGossipSubParams()
	params.HeartbeatInterval = time.Second
	params.HeartbeatInitialDelay = 100 * time.Millisecond
	params.D, params.Dlo, params.Dhi = 4, 3, 6
	params.Dout, params.Dscore, params.Dlazy = 1, 2, 2
	params.GossipFactor = 0
	ps, err := pubsub.NewGossipSub(ctx, conntags.Host(h, conntags.MeshPeer), pubsub.WithGossipSubParams(params),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign), pubsub.WithPeerExchange(false), pubsub.WithFloodPublish(false))
	if err != nil {
		return fmt.Errorf("gossipsub: %w", err)
	}
	for _, name := range topics {
		t, err := ps.Join(name)
		if err != nil {
			return fmt.Errorf("join %s: %w", name, err)
		}
		sub, err := t.Subscribe()
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", name, err)
		}
		go func() {
			for {
				if _, err := sub.Next(ctx); err != nil {
					return
				}
			}
		}()
	}

	var peers []peer.AddrInfo
	for _, s := range boot {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return fmt.Errorf("bootstrap %q: %w", s, err)
		}
		peers = append(peers, *ai)
	}
	// The node's lookup width (p2p/dht.go): the library's k = 20 and
	// alpha = 10 touch most of a small mesh per lookup, and every peer
	// asked is a link; with them a bare host held 42 links at N = 50
	// where a node held 10, and the comparison was not like for like.
	kad, err := dht.New(conntags.Host(h, conntags.KbucketPeer), dht.ProtocolPrefix(dhtPrefix), dht.Mode(dht.ModeServer),
		dht.Validator(record.NamespacedValidator{"meshhealth": acceptAll{}}), dht.BootstrapPeers(peers...),
		dht.BucketSize(8), dht.Concurrency(3))
	if err != nil {
		return fmt.Errorf("dht: %w", err)
	}
	defer kad.Close()
	for _, ai := range peers {
		go connect(ctx, h, ai)
	}
	if err := kad.Bootstrap(ctx); err != nil {
		return fmt.Errorf("dht bootstrap: %w", err)
	}
	for _, a := range h.Addrs() {
		fmt.Printf("addr %s/p2p/%s\n", a, h.ID())
		break
	}
	t := time.NewTicker(report)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fmt.Printf("peers %d\n", len(h.Network().Peers()))
		}
	}
}

func newHost(listen []string, low, high int) (host.Host, error) {
	// The node's 10 s grace for young links (p2p/host.go).
	cm, err := connmgr.NewConnManager(low, high, connmgr.WithGracePeriod(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport), libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New), libp2p.Security(tls.ID, tls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(cm), libp2p.ResourceManager(rm),
		libp2p.DisableRelay(), libp2p.UserAgent("meshhealth-barehost"),
	)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	return h, nil
}

// connect keeps trying a bootstrap peer for a while: the peers of a bare
// mesh start at about the same time.
func connect(ctx context.Context, h host.Host, ai peer.AddrInfo) {
	for i := 0; i < 60 && ctx.Err() == nil; i++ {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := h.Connect(cctx, ai)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// acceptAll is a record validator for the meshhealth namespace: the bare
// mesh puts nothing, so it only has to exist.
type acceptAll struct{}

func (acceptAll) Validate(string, []byte) error        { return nil }
func (acceptAll) Select(string, [][]byte) (int, error) { return 0, nil }
