package probes

import (
	"context"
	"testing"
	"time"
)

type fakePeers int

func (f fakePeers) ConnectedPeers() int { return int(f) }

func TestConnectivityPassesOnlyWithEnoughPeers(t *testing.T) {
	cases := []struct {
		peers, min int
		healthy    bool
	}{
		{0, 1, false},
		{1, 1, true},
		{2, 3, false},
		{5, 3, true},
		{0, 0, true}, // a node run alone on purpose (--min-peers 0)
	}
	for _, c := range cases {
		chk := Connectivity(fakePeers(c.peers), c.min, 5*time.Second, time.Second, nil)
		if !chk.Critical {
			t.Fatal("p2p-connectivity must be critical")
		}
		r := chk.Checker(context.Background())
		if r.Healthy != c.healthy {
			t.Errorf("peers=%d min=%d: healthy=%v, want %v (%s)", c.peers, c.min, r.Healthy, c.healthy, r.Message)
		}
		if got := r.Details["connected_peers"]; got != c.peers {
			t.Errorf("details connected_peers = %v, want %d", got, c.peers)
		}
	}
}
