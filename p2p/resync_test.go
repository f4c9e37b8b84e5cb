package p2p

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// When GossipSub's stream to a connected peer dies, it forgets the peer's
// subscriptions and the peer never sends them again (resync.go): a node
// can then no longer answer that peer on the topic. The node disconnects
// such a peer, and once connected again both sides hear each other.
func TestForgottenPeerIsDisconnectedAndHeardAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := forgottenPair(t)
		idb := b.n.Host.ID()
		time.Sleep(gossipHeartbeat)
		synctest.Wait()
		if slices.Contains(a.n.PubSub.ListPeers(wire.TopicProbe), idb) {
			t.Fatal("GossipSub still lists the peer after its stream died: the library no longer forgets, and the repair may go")
		}

		answered := false
		for range 3 * int(rediscoverEvery/time.Second) {
			time.Sleep(time.Second)
			synctest.Wait()
			if a.n.Host.Network().Connectedness(idb) == network.Connected && b.roundTrip(t, "after", time.Second) == nil {
				answered = true
				break
			}
		}
		if !answered {
			t.Fatalf("b's probe still unanswered %v after a forgot it (a lists %v on the topic)", 3*rediscoverEvery, a.n.PubSub.ListPeers(wire.TopicProbe))
		}
		if got := testutil.ToFloat64(a.n.gossip.resyncs); got != 1 {
			t.Errorf("resyncs = %v, want 1", got)
		}
	})
}

// forgottenPair connects two members on a mocknet, waits for their mesh,
// then kills a's outbound GossipSub stream to b while the connection
// stays: a forgets b's subscriptions, the library's loss resync.go and the
// rejoin step repair.
func forgottenPair(t *testing.T) (a, b *gossipMember) {
	t.Helper()
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
	a, b = members[0], members[1]
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
	for _, c := range a.n.Host.Network().ConnsToPeer(idb) {
		for _, s := range c.GetStreams() {
			if s.Stat().Direction == network.DirOutbound && strings.HasPrefix(string(s.Protocol()), "/meshsub/") {
				_ = s.Reset()
			}
		}
	}
	return a, b
}
