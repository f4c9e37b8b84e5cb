package testnet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path/filepath"
)

// Names are derived from the testnet directory, so two testnets on one
// machine never share a namespace or a link, and down finds exactly its own
// even when an interrupted up left no state behind. Linux interface names
// hold at most 15 bytes: "mh" + 6 hex + "h" + up to 3 digits is 12.
type Names struct {
	// Prefix is "mh" and the first 6 hex digits of sha256(absolute dir).
	Prefix string
}

// maxNodes bounds -n so that every derived interface name fits in 15 bytes
// and every node has an address in a /24 besides the bridge's .254.
const maxNodes = 253

// NamesFor derives the names of the testnet kept in dir.
func NamesFor(dir string) (Names, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Names{}, fmt.Errorf("testnet dir %q: %w", dir, err)
	}
	sum := sha256.Sum256([]byte(filepath.Clean(abs)))
	return Names{Prefix: "mh" + hex.EncodeToString(sum[:3])}, nil
}

// Namespace is node i's network namespace.
func (n Names) Namespace(i int) string { return fmt.Sprintf("%s-%d", n.Prefix, i) }

// HostVeth is the host end of node i's veth pair, enslaved to the bridge;
// taking it down partitions the node.
func (n Names) HostVeth(i int) string { return fmt.Sprintf("%sh%d", n.Prefix, i) }

// PeerVeth is the namespace end of node i's veth pair before it is renamed
// eth0 inside the namespace.
func (n Names) PeerVeth(i int) string { return fmt.Sprintf("%sn%d", n.Prefix, i) }

// Bridge joins every node's veth.
func (n Names) Bridge() string { return "mhbr" + n.Prefix[2:] }

// SubnetPlan gives each node an address in a /24 and the bridge the .254,
// so the host reaches every node's HTTP endpoint.
type SubnetPlan struct {
	Prefix netip.Prefix
}

// DefaultSubnet is the first /24 up tries (it takes the first free one in
// 198.18.0.0/15): RFC 2544's benchmarking range, never routed, never in use
// on a real LAN, and accepted by the node's fault-injection guard.
const DefaultSubnet = "198.18.0.0/24"

// ParseSubnet accepts an IPv4 /24 (the plan numbers hosts .1 to .254).
func ParseSubnet(s string) (SubnetPlan, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return SubnetPlan{}, fmt.Errorf("subnet %q: %w", s, err)
	}
	if !p.Addr().Is4() || p.Bits() != 24 {
		return SubnetPlan{}, fmt.Errorf("subnet %q: want an IPv4 /24 such as %s", s, DefaultSubnet)
	}
	return SubnetPlan{Prefix: p.Masked()}, nil
}

func (p SubnetPlan) host(last byte) netip.Addr {
	b := p.Prefix.Addr().As4()
	b[3] = last
	return netip.AddrFrom4(b)
}

// Node is node i's address: .1 for node 0.
func (p SubnetPlan) Node(i int) netip.Addr { return p.host(byte(i + 1)) }

// Bridge is the host's address on the bridge.
func (p SubnetPlan) Bridge() netip.Addr { return p.host(254) }

// Bits is the prefix length to put on each address.
func (p SubnetPlan) Bits() int { return p.Prefix.Bits() }
