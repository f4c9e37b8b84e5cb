package p2p

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meshhealth/meshhealth/internal/fielderr"
)

// MaxRedialBackoff caps the wait between two dials of a peer that keeps
// failing: a bootstrap node that restarts, or a LAN peer whose partition
// heals, is found again within this long. 10 s rather than libp2p's usual
// minutes: on a LAN a dial to a dead peer costs next to nothing, while every
// second of the cap is a second a healed node stays out of the mesh (the
// testnet measured 30-50 s recoveries with a 30 s cap).
const MaxRedialBackoff = 10 * time.Second

// Config is the libp2p part of the node configuration.
//
// The yaml, flag and usage tags make a field a setting of the node's
// configuration (node.Config binds them; the flag also names its
// MESHHEALTH_* variable); a field tagged "-" is not one.
type Config struct {
	// Listen holds the multiaddrs the host listens on. Only TCP and QUIC v1
	// are built in; port 4001 on every interface by default, as IPFS does, so
	// firewall rules written for libp2p apply.
	Listen []string `yaml:"listen" flag:"listen" usage:"libp2p listen multiaddr (repeatable or comma-separated)"`

	// DataDir keeps the identity key (IdentityFile), so the node's peer ID
	// survives restarts and peers, dashboards and the election keep knowing
	// it.
	DataDir string `yaml:"data_dir" flag:"data-dir" usage:"directory for the identity key and the restart-loop guard"`

	// Bootstrap holds multiaddrs ending in /p2p/<peer-id>. They are dialled
	// at start and redialled whenever they are not connected while the node
	// has fewer than ConnLow links, for as long as the node runs; they also
	// seed the DHT. There is deliberately no default.
	Bootstrap []string `yaml:"bootstrap,omitempty" flag:"bootstrap" usage:"bootstrap peer multiaddr with /p2p/<id> (repeatable or comma-separated); never a public peer"`

	// MDNS finds peers on the local link by multicast DNS: what a LAN (and
	// the testnet's netns mode) needs with no configuration at all. Turn it
	// off where multicast is not wanted (cloud networks, tests).
	MDNS bool `yaml:"mdns" flag:"mdns" usage:"discover peers on the LAN by mDNS"`

	// MDNSService is the mDNS service name; only nodes announcing the same
	// name find each other, so two meshes can share a LAN.
	MDNSService string `yaml:"-" flag:"-"`

	// ConnLow and ConnHigh are the connection manager's watermarks, and
	// ConnLow is also the degree a node seeks: discovery (mDNS sightings,
	// bootstrap peers, the DHT's routing table) dials only while the node
	// has fewer than ConnLow connections, and above ConnHigh the manager
	// trims back to ConnLow, sparing the young ones (connGracePeriod) and
	// closing the lowest-valued first: GossipSub's mesh peers (D=4, 3..6
	// per topic: lanMeshDegree) weigh most and the DHT's table peers a
	// little (p2p/conntags turns their "protect" into tags, since protected
	// they were nearly every link and nothing could be trimmed), so a node
	// at rest holds its mesh and a few spares.
	//
	// 6/16, where it was 64/128 (everyone connected to everyone below 64
	// nodes): 6 leaves GossipSub's mesh (D_lo 3) room to replace a lost
	// peer without a dial, and 16 is the most a node holds at any N: about
	// 6 links it dialled and as many dialled by others, the mesh among
	// them. Ethereum's consensus nodes keep 50 to 200 in networks of
	// thousands; a health mesh forwards small messages, and every link
	// multiplies the copies each one costs, so it needs fewer.
	ConnLow  int `yaml:"conn_low" flag:"conn-low" usage:"connections a node seeks, and keeps when trimming (beside GossipSub's mesh peers)"`
	ConnHigh int `yaml:"conn_high" flag:"conn-high" usage:"connections above which the connection manager trims back toward conn-low"`

	// BootstrapInterval is the first wait before redialling a peer that
	// failed; it doubles on every failure up to MaxRedialBackoff, with
	// jitter so a restarted bootstrap node is not hit by every peer at once.
	BootstrapInterval time.Duration `yaml:"-" flag:"-"`
}

// DefaultConfig returns the configuration of a LAN node: TCP and QUIC on port
// 4001, mDNS on, no bootstrap peers.
func DefaultConfig() Config {
	return Config{
		Listen:            []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"},
		DataDir:           "meshhealth-data",
		MDNS:              true,
		MDNSService:       "meshhealth",
		ConnLow:           6,
		ConnHigh:          16,
		BootstrapInterval: time.Second,
	}
}

// mdnsServiceName keeps the name a plain DNS label sequence, so it fits in an
// mDNS question unchanged.
var mdnsServiceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$`)

// Validate reports every problem in c, one per field and line
// (fielderr.Error values joined with errors.Join).
func (c Config) Validate() error {
	var errs fielderr.List
	if len(c.Listen) == 0 {
		errs.Add("Listen", "at least one multiaddr is needed")
	}
	for _, l := range c.Listen {
		if err := checkListenAddr(l); err != nil {
			errs.Add("Listen", "%q: %v", l, err)
		}
	}
	if c.DataDir == "" {
		errs.Add("DataDir", "must not be empty (the identity key lives there)")
	}
	for _, b := range c.Bootstrap {
		if _, err := parseBootstrap(b); err != nil {
			errs.Add("Bootstrap", "%q: %v", b, err)
		}
	}
	if c.MDNS && !mdnsServiceName.MatchString(c.MDNSService) {
		errs.Add("MDNSService", "%q must be 1-63 letters, digits, '_', '-' or '.'", c.MDNSService)
	}
	if c.ConnLow < 1 {
		errs.Add("ConnLow", "%d must be >= 1", c.ConnLow)
	} else if c.ConnHigh <= c.ConnLow {
		// Strictly above: at equal watermarks every connection past the
		// mark trims one, so the manager churns instead of trimming in
		// batches.
		errs.Add("ConnHigh", "%d must be > conn-low (%d)", c.ConnHigh, c.ConnLow)
	}
	if c.BootstrapInterval <= 0 || c.BootstrapInterval > MaxRedialBackoff {
		errs.Add("BootstrapInterval", "%s must be > 0 and <= %s", c.BootstrapInterval, MaxRedialBackoff)
	}
	return errs.Err()
}

// checkListenAddr accepts what the built-in transports can listen on.
func checkListenAddr(s string) error {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return err
	}
	if _, err := a.ValueForProtocol(ma.P_P2P); err == nil {
		return errors.New("a listen address must not name a peer (/p2p)")
	}
	_, tcpErr := a.ValueForProtocol(ma.P_TCP)
	_, quicErr := a.ValueForProtocol(ma.P_QUIC_V1)
	if tcpErr != nil && quicErr != nil {
		return errors.New("no transport for it: want /tcp/<port> or /udp/<port>/quic-v1")
	}
	return nil
}

// parseBootstrap turns a bootstrap multiaddr into the peer to dial.
func parseBootstrap(s string) (peer.AddrInfo, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
		return peer.AddrInfo{}, errors.New("needs a /p2p/<peer-id> part")
	}
	ai, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	if len(ai.Addrs) == 0 {
		return peer.AddrInfo{}, errors.New("needs a transport address before /p2p/<peer-id>")
	}
	return *ai, nil
}

// bootstrapPeers parses every bootstrap address, merging addresses of the
// same peer.
func bootstrapPeers(addrs []string) ([]peer.AddrInfo, error) {
	var infos []peer.AddrInfo
	index := map[peer.ID]int{}
	for _, s := range addrs {
		ai, err := parseBootstrap(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap %q: %w", s, err)
		}
		if i, ok := index[ai.ID]; ok {
			infos[i].Addrs = append(infos[i].Addrs, ai.Addrs...)
			continue
		}
		index[ai.ID] = len(infos)
		infos = append(infos, ai)
	}
	return infos, nil
}
