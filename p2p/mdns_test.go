package p2p

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

func TestMDNSSightingsAreDialledAndKeptButNeverSelf(t *testing.T) {
	mn, err := mocknet.WithNPeers(2)
	if err != nil {
		t.Fatal(err)
	}
	defer mn.Close()
	self, other := mn.Hosts()[0], mn.Hosts()[1]

	ctx, cancel := context.WithCancel(t.Context())
	r := newRedialer(ctx, slog.New(slog.DiscardHandler), MaxRedialBackoff, MaxRedialBackoff)
	var mu sync.Mutex
	dialled := map[peer.ID]int{}
	first := make(chan struct{})
	r.dial = func(_ context.Context, ai peer.AddrInfo) error {
		mu.Lock()
		defer mu.Unlock()
		if dialled[ai.ID]++; dialled[ai.ID] == 1 {
			close(first)
		}
		return nil
	}
	r.connected = func(peer.ID) bool { return false }
	r.isolated = func() bool { return false }
	notifee := &mdnsNotifee{h: self, redial: r, log: slog.New(slog.DiscardHandler)}

	notifee.HandlePeerFound(peer.AddrInfo{ID: self.ID(), Addrs: self.Addrs()})
	notifee.HandlePeerFound(peer.AddrInfo{ID: other.ID(), Addrs: other.Addrs()})
	notifee.HandlePeerFound(peer.AddrInfo{ID: other.ID(), Addrs: other.Addrs()}) // seen again
	// The sighting is dialled at once.
	<-first
	cancel()
	r.wait()

	if len(r.peers) != 1 || r.peers[other.ID()] == nil || r.peers[other.ID()].permanent {
		t.Fatalf("redialer keeps %v, want only the other peer, as a forgettable one", r.peers)
	}
	if dialled[self.ID()] != 0 {
		t.Error("the node dialled itself")
	}
	if got := self.Peerstore().Addrs(other.ID()); len(got) == 0 {
		t.Error("the sighting's addresses are not in the peerstore")
	}
}

func TestMDNSDialsNewSightingsOnlyBelowItsDegree(t *testing.T) {
	mn, err := mocknet.FullMeshConnected(3)
	if err != nil {
		t.Fatal(err)
	}
	defer mn.Close()
	self, a, b := mn.Hosts()[0], mn.Hosts()[1], mn.Hosts()[2]
	r, stop := fakeRedialer(t)
	defer stop()
	// Two connections already, a degree of two: enough links.
	notifee := &mdnsNotifee{h: self, redial: r, degree: 2, log: slog.New(slog.DiscardHandler)}
	notifee.HandlePeerFound(peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()})
	if r.has(b.ID()) {
		t.Fatal("a sighting was kept although the node has its degree of links")
	}
	// Below its degree (a third peer's worth), sightings are dialled again.
	notifee.degree = 3
	notifee.HandlePeerFound(peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()})
	if !r.has(a.ID()) {
		t.Fatal("a sighting below the degree was not kept")
	}
}

// A node with its degree of links still dials, now and then, a sighting of
// a peer it is not connected to: that may be a newcomer nobody answered.
func TestMDNSSometimesDialsAnUnconnectedNewcomerAboveItsDegree(t *testing.T) {
	mn, err := mocknet.FullMeshLinked(8)
	if err != nil {
		t.Fatal(err)
	}
	defer mn.Close()
	hs := mn.Hosts()
	self, newcomer := hs[0], hs[7]
	for _, h := range hs[1:7] {
		if _, err := mn.ConnectPeers(self.ID(), h.ID()); err != nil {
			t.Fatal(err)
		}
	}
	r, stop := fakeRedialer(t)
	defer stop()
	var draw float64
	notifee := &mdnsNotifee{h: self, redial: r, degree: 2, log: slog.New(slog.DiscardHandler), rand: func() float64 { return draw }}

	// Connected peers are never redialled from a sighting, whatever the draw.
	notifee.HandlePeerFound(peer.AddrInfo{ID: hs[1].ID(), Addrs: hs[1].Addrs()})
	if r.has(hs[1].ID()) {
		t.Fatal("a sighting of a connected peer was kept above the degree")
	}
	// An unconnected one is dialled when the draw falls under
	// newcomerDials/conns (4/6), not otherwise.
	draw = 0.9
	notifee.HandlePeerFound(peer.AddrInfo{ID: newcomer.ID(), Addrs: newcomer.Addrs()})
	if r.has(newcomer.ID()) {
		t.Fatal("an unconnected sighting was kept although the draw was above newcomerDials/conns")
	}
	draw = 0.5
	notifee.HandlePeerFound(peer.AddrInfo{ID: newcomer.ID(), Addrs: newcomer.Addrs()})
	if !r.has(newcomer.ID()) {
		t.Fatal("an unconnected sighting was not dialled although the draw was under newcomerDials/conns")
	}
}

// fakeRedialer is a redialer whose dials succeed at once; stop ends it and
// waits for its goroutines.
func fakeRedialer(t *testing.T) (*redialer, func()) {
	ctx, cancel := context.WithCancel(t.Context())
	r := newRedialer(ctx, slog.New(slog.DiscardHandler), MaxRedialBackoff, MaxRedialBackoff)
	r.dial = func(context.Context, peer.AddrInfo) error { return nil }
	r.connected = func(peer.ID) bool { return true }
	r.isolated = func() bool { return false }
	return r, func() { cancel(); r.wait() }
}
