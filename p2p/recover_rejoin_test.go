package p2p

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A node whose peer no longer routes its topic to it, over a link that is
// still up, is heard again once it rejoins: the recovery step starts
// GossipSub afresh on both sides at once, without waiting for the node's
// own look for forgotten peers (every rediscoverEvery).
func TestRejoinRestoresGossipOverALiveLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := forgottenPair(t)
		ida := a.n.Host.ID()
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
