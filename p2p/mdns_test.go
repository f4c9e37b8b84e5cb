package p2p

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/libp2p/zeroconf/v2"
	ma "github.com/multiformats/go-multiaddr"
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

func TestWantBrowseAsksUntilTheDegreeAndAgainBelowHalfOfIt(t *testing.T) {
	for _, c := range []struct {
		browsing      bool
		conns, degree int
		want          bool
	}{
		{false, 0, 16, true},
		{true, 15, 16, true},
		{true, 16, 16, false}, // its degree reached: silent
		{false, 12, 16, false},
		{false, 8, 16, false},
		{false, 7, 16, true}, // lost more than half: asks again
		{false, 0, 1, true},
		{false, 1, 1, false},
		{true, 40, 0, true}, // degree 0: always asks
	} {
		if got := wantBrowse(c.browsing, c.conns, c.degree); got != c.want {
			t.Errorf("wantBrowse(browsing %v, %d conns, degree %d) = %v, want %v", c.browsing, c.conns, c.degree, got, c.want)
		}
	}
}

// fakeBrowse stands in for zeroconf: it counts the browses started and
// reports whether one is running.
type fakeBrowse struct {
	mu      sync.Mutex
	started int
	running int
}

func (f *fakeBrowse) browse(ctx context.Context, _ func(peer.AddrInfo)) {
	f.mu.Lock()
	f.started++
	f.running++
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	f.running--
	f.mu.Unlock()
}

func (f *fakeBrowse) state() (started, running int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started, f.running
}

// waitRunning waits for the browse goroutine to have started (or ended).
func (f *fakeBrowse) waitRunning(t *testing.T, want int) int {
	t.Helper()
	for range 5000 {
		if started, running := f.state(); running == want {
			return started
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("browses running: want %d", want)
	return 0
}

func TestMDNSDiscoveryIsSilentOnceItHasItsLinks(t *testing.T) {
	f := &fakeBrowse{}
	d := &mdnsDiscovery{degree: 16, browse: f.browse, wake: make(chan struct{}, 1)}
	defer d.Close()

	d.startBrowsing() // as at start
	f.waitRunning(t, 1)
	d.step(16)
	if _, running := f.state(); running != 0 {
		t.Fatal("still asking with 16 links, the degree")
	}
	d.step(9)
	if _, running := f.state(); running != 0 {
		t.Fatal("asking again with 9 links, more than half the degree")
	}
	d.step(7)
	if started := f.waitRunning(t, 1); started != 2 {
		t.Fatalf("browses started = %d, want 2 after losing more than half the links", started)
	}
	d.step(10) // between the thresholds: keeps asking until the degree
	if started, running := f.state(); started != 2 || running != 1 {
		t.Fatalf("started %d, running %d: want the same browse to go on", started, running)
	}
	// Alone, it asks afresh at every step: its earlier questions may have
	// been lost, and the browser's own retries have backed off.
	d.step(0)
	d.step(0)
	if started := f.waitRunning(t, 1); started != 4 {
		t.Fatalf("browses started = %d, want 4 after two steps alone", started)
	}
	d.Close()
	if _, running := f.state(); running != 0 {
		t.Fatal("still asking after Close")
	}
	d.startBrowsing()
	if started, _ := f.state(); started != 4 {
		t.Fatal("a closed discovery started asking again")
	}
}

// A sighting that arrives once the degree is reached wakes the control
// loop, so the node stops asking at once rather than at its next step.
func TestMDNSSightingAtTheDegreeWakesTheControlLoop(t *testing.T) {
	mn, err := mocknet.FullMeshConnected(3)
	if err != nil {
		t.Fatal(err)
	}
	defer mn.Close()
	self, other := mn.Hosts()[0], mn.Hosts()[1]
	r, stop := fakeRedialer(t)
	defer stop()
	conns := 1
	d := &mdnsDiscovery{
		conns: func() int { return conns }, degree: 2, wake: make(chan struct{}, 1),
		notifee: &mdnsNotifee{h: self, redial: r, degree: 2, log: slog.New(slog.DiscardHandler)},
	}
	d.found(peer.AddrInfo{ID: other.ID(), Addrs: other.Addrs()})
	if len(d.wake) != 0 {
		t.Fatal("woke the control loop below the degree")
	}
	conns = 2
	d.found(peer.AddrInfo{ID: other.ID(), Addrs: other.Addrs()})
	if len(d.wake) != 1 {
		t.Fatal("a sighting at the degree did not wake the control loop")
	}
}

func TestMDNSRecordsRoundTripToSightings(t *testing.T) {
	id, err := peer.Decode("12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	if err != nil {
		t.Fatal(err)
	}
	addrs := []ma.Multiaddr{
		ma.StringCast("/ip4/198.18.0.7/tcp/4001"),
		ma.StringCast("/ip4/198.18.0.7/udp/4001/quic-v1"),
		ma.StringCast("/ip4/198.18.0.7/tcp/4002/ws"),          // not announced
		ma.StringCast("/ip4/198.18.0.9/tcp/4001/p2p-circuit"), // not announced
	}
	ips, txt, families := mdnsRecords(id, addrs)
	if len(ips) != 1 || ips[0] != "198.18.0.7" {
		t.Errorf("ips = %v, want the first IPv4 only", ips)
	}
	if families != zeroconf.IPv4 {
		t.Errorf("families = %v, want IPv4 only (no IPv6 listen address)", families)
	}
	if len(txt) != 2 {
		t.Fatalf("txt = %v, want the TCP and QUIC addresses", txt)
	}
	got := mdnsSightings(append(txt, "other=record", mdnsTXTPrefix+"/not/a/multiaddr"))
	if len(got) != 1 || got[0].ID != id || len(got[0].Addrs) != 2 || !got[0].Addrs[0].Equal(addrs[0]) {
		t.Fatalf("sightings = %v, want %s at its two LAN addresses", got, id)
	}
	if _, _, families := mdnsRecords(id, []ma.Multiaddr{ma.StringCast("/ip6/fe80::1/tcp/4001"), addrs[0]}); families != zeroconf.IPv4|zeroconf.IPv6 {
		t.Errorf("families = %v, want both with an IPv6 address", families)
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
