package p2p

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
)

func TestGaterRefusesEveryNewConnectionOnlyWhileIsolated(t *testing.T) {
	g := NewGater()
	checks := map[string]func() bool{
		"peer dial": func() bool { return g.InterceptPeerDial("") },
		"addr dial": func() bool { return g.InterceptAddrDial("", nil) },
		"accept":    func() bool { return g.InterceptAccept(nil) },
		"secured inbound": func() bool {
			return g.InterceptSecured(network.DirInbound, "", nil)
		},
		"secured outbound": func() bool {
			return g.InterceptSecured(network.DirOutbound, "", nil)
		},
		"upgraded": func() bool { ok, _ := g.InterceptUpgraded(nil); return ok },
	}
	for _, isolated := range []bool{false, true, false} {
		g.SetIsolated(isolated)
		if g.Isolated() != isolated {
			t.Fatalf("Isolated() = %v after SetIsolated(%v)", g.Isolated(), isolated)
		}
		for name, allowed := range checks {
			if allowed() == isolated {
				t.Errorf("isolated=%v: %s allowed=%v", isolated, name, !isolated)
			}
		}
	}
}
