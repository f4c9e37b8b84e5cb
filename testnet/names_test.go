package testnet

import (
	"strings"
	"testing"
)

func TestNamesAreStablePerDirAndDistinctAcrossDirs(t *testing.T) {
	a1, err := NamesFor("/tmp/testnet-a")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := NamesFor("/tmp/testnet-a/")
	b, _ := NamesFor("/tmp/testnet-b")
	if a1 != a2 {
		t.Errorf("same dir, different names: %q and %q", a1.Prefix, a2.Prefix)
	}
	if a1 == b {
		t.Errorf("two dirs share the prefix %q", a1.Prefix)
	}
}

func TestNamesFitLinuxInterfaceNames(t *testing.T) {
	n, _ := NamesFor("/some/where")
	for _, name := range []string{n.HostVeth(maxNodes - 1), n.PeerVeth(maxNodes - 1), n.Bridge()} {
		if len(name) > 15 {
			t.Errorf("%q is %d bytes; Linux allows 15", name, len(name))
		}
	}
	// down sweeps by prefix: every name but the bridge's must carry it.
	for _, name := range []string{n.HostVeth(3), n.PeerVeth(3), n.Namespace(3)} {
		if !strings.HasPrefix(name, n.Prefix) {
			t.Errorf("%q does not start with the prefix %q", name, n.Prefix)
		}
	}
}

func TestSubnetPlan(t *testing.T) {
	p, err := ParseSubnet(DefaultSubnet)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Node(0).String(); got != "198.18.0.1" {
		t.Errorf("node 0 at %s, want 198.18.0.1", got)
	}
	if got := p.Node(252).String(); got != "198.18.0.253" {
		t.Errorf("node 252 at %s, want 198.18.0.253", got)
	}
	if got := p.Bridge().String(); got != "198.18.0.254" {
		t.Errorf("bridge at %s, want 198.18.0.254", got)
	}
	for _, bad := range []string{"198.18.0.0/16", "fd00::/64", "nonsense"} {
		if _, err := ParseSubnet(bad); err == nil {
			t.Errorf("ParseSubnet(%q) accepted it", bad)
		}
	}
}
