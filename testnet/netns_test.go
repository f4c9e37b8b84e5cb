package testnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeIP records ip commands and answers the listing ones.
type fakeIP struct {
	cmds  []string
	netns string
	links string
	addrs string
}

func (f *fakeIP) run(_ context.Context, args ...string) (string, error) {
	cmd := strings.Join(args, " ")
	f.cmds = append(f.cmds, cmd)
	switch cmd {
	case "netns list":
		return f.netns, nil
	case "-o link show":
		return f.links, nil
	case "-o -4 addr show":
		return f.addrs, nil
	}
	return "", nil
}

func TestSetupNodeGivesTheNodeItsOwnNamespaceAddressAndLink(t *testing.T) {
	ip := &fakeIP{}
	plan, _ := ParseSubnet(DefaultSubnet)
	ns := netns{ip: ip.run, names: Names{Prefix: "mh123456"}, plan: plan}
	if err := ns.setupBridge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ns.setupNode(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"link add mhbr123456 type bridge",
		"addr add 198.18.0.254/24 dev mhbr123456",
		"link set mhbr123456 up",
		"netns add mh123456-2",
		"link add mh123456h2 type veth peer name mh123456n2",
		"link set mh123456n2 netns mh123456-2",
		"link set mh123456h2 master mhbr123456",
		"link set mh123456h2 up",
		"-n mh123456-2 link set mh123456n2 name eth0",
		"-n mh123456-2 addr add 198.18.0.3/24 dev eth0",
		"-n mh123456-2 link set eth0 up",
		"-n mh123456-2 link set lo up",
	}
	if !slices.Equal(ip.cmds, want) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(ip.cmds, "\n"), strings.Join(want, "\n"))
	}
}

func TestPartitionTakesTheHostEndOfTheLinkDown(t *testing.T) {
	ip := &fakeIP{}
	ns := netns{ip: ip.run, names: Names{Prefix: "mh123456"}}
	ns.setLink(context.Background(), 1, false)
	ns.setLink(context.Background(), 1, true)
	want := []string{"link set mh123456h1 down", "link set mh123456h1 up"}
	if !slices.Equal(ip.cmds, want) {
		t.Errorf("commands %q, want %q", ip.cmds, want)
	}
}

func TestTeardownRemovesOnlyItsOwnNamespacesAndLinks(t *testing.T) {
	ip := &fakeIP{
		netns: "mh123456-0 (id: 1)\nmh123456-1 (id: 2)\nmhffffff-0 (id: 3)\nother\n",
		links: "1: lo: <LOOPBACK,UP> mtu 65536\n" +
			"5: mhbr123456: <BROADCAST,MULTICAST,UP> mtu 1500\n" +
			"6: mh123456h7@if5: <BROADCAST,MULTICAST> mtu 1500\n" +
			"7: mhbrffffff: <BROADCAST> mtu 1500\n" +
			"8: mhffffffh0@if2: <BROADCAST> mtu 1500\n" +
			"9: eth0: <BROADCAST,UP> mtu 1400\n",
	}
	ns := netns{ip: ip.run, names: Names{Prefix: "mh123456"}}
	if err := ns.teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var dels []string
	for _, c := range ip.cmds {
		if strings.Contains(c, " del ") {
			dels = append(dels, c)
		}
	}
	want := []string{"link del mhbr123456", "link del mh123456h7", "netns del mh123456-0", "netns del mh123456-1"}
	if !slices.Equal(dels, want) {
		t.Errorf("deleted %q, want %q", dels, want)
	}
}

func TestSubnetIsOneNoInterfaceUses(t *testing.T) {
	ip := &fakeIP{addrs: "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n" +
		"4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\ valid_lft forever\n" +
		"104: mhbr0c3067    inet 198.18.0.254/24 scope global mhbr0c3067\\ valid_lft forever\n" +
		"111: mhbr948eed    inet 198.18.1.254/24 scope global mhbr948eed\\ valid_lft forever\n"}
	ctx := context.Background()
	plan, err := chooseSubnet(ctx, ip.run, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Prefix.String(); got != "198.18.2.0/24" {
		t.Errorf("chose %s, want the first free /24, 198.18.2.0/24", got)
	}
	if _, err := chooseSubnet(ctx, ip.run, "198.18.1.0/24"); err == nil || !strings.Contains(err.Error(), "mhbr948eed") {
		t.Errorf("a subnet in use was accepted: %v", err)
	}
	if plan, err := chooseSubnet(ctx, ip.run, "198.18.9.0/24"); err != nil || plan.Bridge().String() != "198.18.9.254" {
		t.Errorf("a free subnet: %v, %v", plan, err)
	}
}

// The kernel's ARP table is shared by every namespace: a testnet of n nodes
// needs about n² entries, more than the default hard limit of 1,024 at 50.
func TestNeighbourLimitsAreRaisedForTheTestnetAndNeverLowered(t *testing.T) {
	dir := t.TempDir()
	write := func(vals ...string) {
		for i, v := range vals {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("gc_thresh%d", i+1)), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func() []string {
		var out []string
		for i := 1; i <= 3; i++ {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("gc_thresh%d", i)))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.TrimSpace(string(b)))
		}
		return out
	}
	write("128", "512", "1024") // the kernel's defaults
	if err := raiseNeighbourLimits(dir, 50); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), []string{"2601", "5202", "10404"}; !slices.Equal(got, want) {
		t.Fatalf("limits for 50 nodes: %v, want %v", got, want)
	}
	// A smaller testnet, or a host set higher, keeps what is there.
	write("128", "99999", "200000")
	if err := raiseNeighbourLimits(dir, 5); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), []string{"128", "99999", "200000"}; !slices.Equal(got, want) {
		t.Fatalf("limits after a 5-node testnet: %v, want %v", got, want)
	}
	if err := raiseNeighbourLimits(filepath.Join(dir, "missing"), 5); err == nil {
		t.Fatal("no error without the limits' files")
	}
}
