package probes

import (
	"context"
	"strings"
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

type refusedPeers struct{ connected, refused int }

func (r refusedPeers) ConnectedPeers() int { return r.connected }
func (r refusedPeers) RefusedBy() int      { return r.refused }

// A node the mesh's allow-list leaves out fails the check with a message
// that says it was refused, so its operator looks at the list, not the
// network.
func TestConnectivitySaysWhenPeersRefusedTheNode(t *testing.T) {
	r := Connectivity(refusedPeers{0, 3}, 1, 5*time.Second, time.Second, nil).Checker(context.Background())
	if r.Healthy || !strings.Contains(r.Message, "refused by 3 peers") || r.Details["refused_by"] != 3 {
		t.Fatalf("healthy %v, message %q, details %v: want failing and refused by 3 peers", r.Healthy, r.Message, r.Details)
	}
	r = Connectivity(refusedPeers{2, 3}, 1, 5*time.Second, time.Second, nil).Checker(context.Background())
	if !r.Healthy || strings.Contains(r.Message, "refused") {
		t.Fatalf("a node with enough peers: healthy %v, message %q", r.Healthy, r.Message)
	}
}
