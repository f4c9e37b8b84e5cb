package p2p

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A node whose peer no longer routes its topic to it, over a link that is
// still up, is heard again once it rejoins: the recovery step starts
// GossipSub afresh on both sides at once, without waiting for the node's
// own look for forgotten peers (every rediscoverEvery).
func TestRejoinRestoresGossipOverALiveLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := mocknet.New()
		t.Cleanup(func() { _ = mn.Close() })
		var members []*gossipMember
		for i := range 2 {
			k, _, _ := crypto.GenerateEd25519Key(rand.Reader)
			h, err := mn.AddPeer(k, ma.StringCast(fmt.Sprintf("/ip4/100.64.0.%d/tcp/4001", i+1)))
			if err != nil {
				t.Fatal(err)
			}
			members = append(members, startMember(t, h))
		}
		a, b := members[0], members[1]
		ida, idb := a.n.Host.ID(), b.n.Host.ID()
		if _, err := mn.LinkPeers(ida, idb); err != nil {
			t.Fatal(err)
		}
		if _, err := mn.ConnectPeers(ida, idb); err != nil {
			t.Fatal(err)
		}
		if !meshWithin(a, b, 5) || !answeredAtOnce(t, b, "before") {
			t.Fatal("no mesh before the stream dies")
		}

		// a forgets b's subscriptions (its outbound GossipSub stream dies,
		// the connection stays): b's probes go unanswered.
		for _, c := range a.n.Host.Network().ConnsToPeer(idb) {
			for _, s := range c.GetStreams() {
				if s.Stat().Direction == network.DirOutbound && strings.HasPrefix(string(s.Protocol()), "/meshsub/") {
					_ = s.Reset()
				}
			}
		}
		time.Sleep(gossipHeartbeat / 2)
		synctest.Wait()
		if b.roundTrip(t, "broken", gossipHeartbeat/10) == nil {
			t.Fatal("b's probe answered after a forgot b: the test no longer breaks gossip")
		}

		// b, finding itself unheard, rejoins.
		if err := b.n.Rejoin(t.Context()); err != nil {
			t.Fatalf("rejoin: %v", err)
		}
		if !meshWithin(a, b, 3) || !answeredAtOnce(t, b, "rejoined") {
			t.Fatalf("b's probe unanswered after it rejoined (connected: %v)", b.n.Host.Network().Connectedness(ida))
		}
		// The rejoin repaired it, not a's own look for forgotten peers.
		if got := testutil.ToFloat64(a.n.gossip.resyncs) + testutil.ToFloat64(b.n.gossip.resyncs); got != 0 {
			t.Errorf("resyncs = %v: the repair came from the periodic look, not the rejoin", got)
		}
	})
}
