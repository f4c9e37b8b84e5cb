package nodetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/node"
)

// placeholder is a valid peer ID of no node here: an allow-list must name
// someone when the node starts.
const placeholder = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"

func writeAllowList(t *testing.T, path string, ids ...string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A member taken off the allow-list is disconnected by every node that
// reads the list within a reload (membership.ReloadInterval, 2 s; the
// wait allows 15 s for a loaded machine) and counted as refused, and the
// nodes still on it stay connected.
func TestMemberTakenOffTheAllowListIsDisconnected(t *testing.T) {
	list := filepath.Join(t.TempDir(), "allow-list")
	writeAllowList(t, list, placeholder)
	m := New(t, 3, func(_ int, c *node.Config) { c.Membership.AllowList = list })
	var ids []string
	for _, mem := range m.Members {
		ids = append(ids, mem.P2P.Host.ID().String())
	}
	writeAllowList(t, list, ids...)
	testkit.WaitFor(t, 15*time.Second, "every node admits the three", func() bool {
		for _, mem := range m.Members {
			for _, o := range m.Members {
				if !mem.P2P.Admit(o.P2P.Host.ID()) {
					return false
				}
			}
		}
		return true
	})
	// The nodes refused each other at start (only the placeholder was
	// listed) and mocknet's links are not redialled: link them again.
	for i, a := range m.Members {
		for _, b := range m.Members[i+1:] {
			if _, err := m.Net.ConnectPeers(a.P2P.Host.ID(), b.P2P.Host.ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	connected := func(a, b *Member) bool {
		return a.P2P.Host.Network().Connectedness(b.P2P.Host.ID()) == network.Connected
	}
	testkit.WaitFor(t, 15*time.Second, "all three connected", func() bool {
		return connected(m.Members[0], m.Members[1]) && connected(m.Members[0], m.Members[2]) && connected(m.Members[1], m.Members[2])
	})

	removed := m.Members[2]
	before := m.Members[0].P2P.Refused()
	writeAllowList(t, list, ids[0], ids[1])
	start := time.Now()
	testkit.WaitFor(t, 15*time.Second, "the removed member disconnected", func() bool {
		return !connected(m.Members[0], removed) && !connected(m.Members[1], removed)
	})
	t.Logf("disconnected %v after the list changed", time.Since(start).Round(100*time.Millisecond))
	if !connected(m.Members[0], m.Members[1]) {
		t.Error("the two members still listed lost their link")
	}
	if m.Members[0].P2P.Refused() <= before {
		t.Error("the removal was not counted as a refusal")
	}
	if m.Members[0].P2P.Admit(peer.ID(removed.P2P.Host.ID())) {
		t.Error("the removed member is still admitted")
	}
}
