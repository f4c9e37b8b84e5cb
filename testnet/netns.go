package testnet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// IPRunner runs iproute2's ip with args and returns its output. Tests
// replace it to see the commands without touching the machine.
type IPRunner func(ctx context.Context, args ...string) (string, error)

// ExecIP runs the real ip command.
func ExecIP(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// checkNetnsPrereqs explains, before anything is created, why netns mode
// cannot run here.
func checkNetnsPrereqs() error {
	if os.Geteuid() != 0 {
		return errors.New("netns mode needs root (it creates network namespaces, veth pairs and a bridge); run as root or use --mode local")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("netns mode needs ip from iproute2 (apt-get install -y iproute2)")
	}
	return nil
}

// netns builds and removes one testnet's namespaces, links and bridge.
// There is no tc and no iptables on the machines this runs on: a partition
// is the host end of a node's veth set down.
type netns struct {
	ip    IPRunner
	names Names
	plan  SubnetPlan
}

func (o netns) run(ctx context.Context, cmds [][]string) error {
	for _, c := range cmds {
		if _, err := o.ip(ctx, c...); err != nil {
			return err
		}
	}
	return nil
}

// neighDir holds the kernel's IPv4 neighbour (ARP) table limits.
var neighDir = "/proc/sys/net/ipv4/neigh/default"

// raiseNeighbourLimits makes room in the kernel's ARP table for a testnet
// of n nodes. The table is the kernel's, shared by every namespace, and
// each node resolves about every other: n² entries. With the default hard
// limit of 1,024, a 50-node testnet overflowed it ("neighbor table
// overflow!" in dmesg) and the kernel could not resolve some pairs at all,
// so some nodes never reached some peers: dials hung in SYN-SENT, a late
// node stayed alone, and the retries loaded every node. The limits are only
// ever raised (a host's own higher settings stay), and left raised: other
// testnets may be using them.
func raiseNeighbourLimits(dir string, n int) error {
	want := (n + 1) * (n + 1)
	for i, min := range []int{want, 2 * want, 4 * want} { // gc_thresh1, 2, 3
		path := fmt.Sprintf("%s/gc_thresh%d", dir, i+1)
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("neighbour table limits: %w", err)
		}
		cur, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("neighbour table limits: %s: %w", path, err)
		}
		if cur >= min {
			continue
		}
		if err := os.WriteFile(path, []byte(strconv.Itoa(min)), 0o644); err != nil {
			return fmt.Errorf("neighbour table limits: raise %s to %d: %w", path, min, err)
		}
	}
	return nil
}

// setupBridge creates the bridge with the host's address on it, so the host
// reaches every node's HTTP endpoint.
func (o netns) setupBridge(ctx context.Context) error {
	br := o.names.Bridge()
	return o.run(ctx, [][]string{
		{"link", "add", br, "type", "bridge"},
		{"addr", "add", o.plan.Bridge().String() + "/" + strconv.Itoa(o.plan.Bits()), "dev", br},
		{"link", "set", br, "up"},
	})
}

// setupNode gives node i a namespace, a veth pair to the bridge and its
// address on eth0 inside the namespace.
func (o netns) setupNode(ctx context.Context, i int) error {
	ns, hv, pv := o.names.Namespace(i), o.names.HostVeth(i), o.names.PeerVeth(i)
	addr := o.plan.Node(i).String() + "/" + strconv.Itoa(o.plan.Bits())
	return o.run(ctx, [][]string{
		{"netns", "add", ns},
		{"link", "add", hv, "type", "veth", "peer", "name", pv},
		{"link", "set", pv, "netns", ns},
		{"link", "set", hv, "master", o.names.Bridge()},
		{"link", "set", hv, "up"},
		{"-n", ns, "link", "set", pv, "name", "eth0"},
		{"-n", ns, "addr", "add", addr, "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	})
}

// setLink takes node i's link down (a partition: the node loses carrier
// and every peer) or brings it back up.
func (o netns) setLink(ctx context.Context, i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	_, err := o.ip(ctx, "link", "set", o.names.HostVeth(i), state)
	return err
}

// teardown removes every link and namespace whose name carries this
// testnet's prefix: those up recorded and any an interrupted up created
// before it could record them. It carries on past failures and returns
// them all; something already gone is not a failure.
func (o netns) teardown(ctx context.Context) error {
	var errs []error
	// Links first: deleting a host veth deletes its peer at once, while a
	// deleted namespace takes its veths down asynchronously, and a link
	// listed a moment earlier may be gone by the time it is deleted.
	out, err := o.ip(ctx, "-o", "link", "show")
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range parseLinkNames(out) {
		if strings.HasPrefix(l, o.names.Prefix) || l == o.names.Bridge() {
			if _, err := o.ip(ctx, "link", "del", l); err != nil && !isGone(err) {
				errs = append(errs, err)
			}
		}
	}
	out, err = o.ip(ctx, "netns", "list")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, ns := range parseNetnsList(out) {
		if !strings.HasPrefix(ns, o.names.Prefix+"-") {
			continue
		}
		if _, err := o.ip(ctx, "netns", "del", ns); err != nil && !isGone(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Cannot find device") || strings.Contains(s, "No such file")
}

// subnetRange is where an automatic subnet is chosen: RFC 2544's
// benchmarking block, which the node accepts for fault injection.
var subnetRange = netip.MustParsePrefix("198.18.0.0/15")

// chooseSubnet returns the requested /24 if no interface on the host uses
// it, or with none requested the first free /24 in 198.18.0.0/15, so two
// netns testnets on one machine never route the same addresses to two
// bridges.
func chooseSubnet(ctx context.Context, ip IPRunner, requested string) (SubnetPlan, error) {
	out, err := ip(ctx, "-o", "-4", "addr", "show")
	if err != nil {
		return SubnetPlan{}, err
	}
	used := parseAddrs(out)
	inUse := func(p netip.Prefix) string {
		for dev, addrs := range used {
			for _, a := range addrs {
				if p.Overlaps(a) {
					return dev
				}
			}
		}
		return ""
	}
	if requested != "" {
		plan, err := ParseSubnet(requested)
		if err != nil {
			return SubnetPlan{}, err
		}
		if dev := inUse(plan.Prefix); dev != "" {
			return SubnetPlan{}, fmt.Errorf("subnet %s is in use on %s (another testnet?); pick another with --subnet", plan.Prefix, dev)
		}
		return plan, nil
	}
	b := subnetRange.Addr().As4()
	for i := 0; i < 512; i++ {
		b[2], b[1] = byte(i), 18+byte(i>>8)
		p := netip.PrefixFrom(netip.AddrFrom4(b), 24)
		if inUse(p) == "" {
			return SubnetPlan{Prefix: p}, nil
		}
	}
	return SubnetPlan{}, fmt.Errorf("every /24 in %s is in use", subnetRange)
}

// parseAddrs reads `ip -o -4 addr show`: "4: eth0    inet 192.0.2.2/24 brd ...".
func parseAddrs(out string) map[string][]netip.Prefix {
	addrs := map[string][]netip.Prefix{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		for i := 0; i+1 < len(f); i++ {
			if f[i] != "inet" {
				continue
			}
			if p, err := netip.ParsePrefix(f[i+1]); err == nil {
				dev := strings.TrimSuffix(f[1], ":")
				addrs[dev] = append(addrs[dev], p.Masked())
			}
		}
	}
	return addrs
}

// parseNetnsList reads `ip netns list`: "name (id: 3)" or "name" per line.
func parseNetnsList(out string) []string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// parseLinkNames reads `ip -o link show`: "12: name@if11: <FLAGS> ...".
func parseLinkNames(out string) []string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.SplitN(l, ": ", 3)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(f[1], "@")
		names = append(names, strings.TrimSpace(name))
	}
	return names
}
