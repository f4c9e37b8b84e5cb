// Package testmesh builds in-process libp2p meshes on mocknet for the
// tests of the packages that speak to peers. Tests only; it is apart from
// internal/testkit so that tests of packages without libp2p (pkg/health)
// do not link it.
package testmesh

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
)

// New is an empty mocknet, closed when the test ends (after the clean-ups
// registered later, which stop what runs on it).
func New(t testing.TB) mocknet.Mocknet {
	t.Helper()
	mn := mocknet.New()
	t.Cleanup(func() { _ = mn.Close() })
	return mn
}

// AddPeers adds n hosts to mn, neither linked nor connected. Their keys
// are Ed25519, as real nodes use: DHT probe records are verified with the
// public key embedded in the peer ID. Each has an address of its own.
func AddPeers(t testing.TB, mn mocknet.Mocknet, n int) []host.Host {
	t.Helper()
	base := len(mn.Hosts())
	hosts := make([]host.Host, n)
	for i := range hosts {
		sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k := base + i
		addr := ma.StringCast(fmt.Sprintf("/ip4/100.64.%d.%d/tcp/4001", k/250, k%250+1))
		if hosts[i], err = mn.AddPeer(sk, addr); err != nil {
			t.Fatal(err)
		}
	}
	return hosts
}

// ConnectPairs links every pair of mn's hosts and connects each pair once.
// With two connections a pair (mocknet's ConnectAllButSelf dials both
// ways), closing them for a partition races pubsub re-opening its stream
// on the second one, and mocknet can leave that stream alive on a closed
// connection: a partition that leaks.
func ConnectPairs(t testing.TB, mn mocknet.Mocknet) {
	t.Helper()
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	hosts := mn.Hosts()
	for i := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			if _, err := mn.ConnectPeers(hosts[i].ID(), hosts[j].ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
}
