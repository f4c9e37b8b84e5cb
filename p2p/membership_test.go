package p2p

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// allowList is a Membership a test can change.
type allowList struct {
	mu  sync.Mutex
	ids map[peer.ID]bool
}

func (a *allowList) Admit(id peer.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ids[id]
}

func (a *allowList) set(ids ...peer.ID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = map[peer.ID]bool{}
	for _, id := range ids {
		a.ids[id] = true
	}
}

// startMemberNode starts a loopback node whose identity is made first, so
// that the list can name it before it starts.
func startMemberNode(t *testing.T, list Membership, reg prometheus.Registerer) *Node {
	t.Helper()
	cfg := loopbackConfig(t)
	key, err := LoadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	gater := NewGater()
	h, err := NewHost(cfg, key, gater, reg)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(t.Context(), h, cfg, gater, Options{Members: list, Registerer: reg}, nil)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func addrsOf(h interface{ Addrs() []ma.Multiaddr }, proto int) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range h.Addrs() {
		if _, err := a.ValueForProtocol(proto); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// An outsider holds a valid identity but is not on the list: over TCP and
// over QUIC, dialling a member or being dialled by it, it never keeps a
// connection; the member counts the refusals, and the outsider can tell it
// was refused and stops dialling it for a while. A listed peer connects as
// before.
func TestOutsiderIsRefusedOverTCPAndQUIC(t *testing.T) {
	list := &allowList{}
	reg := prometheus.NewRegistry()
	member := startMemberNode(t, list, reg)
	friend := startMemberNode(t, list, nil)
	list.set(member.Host.ID(), friend.Host.ID())

	for _, tc := range []struct {
		name  string
		proto int
	}{{"tcp", ma.P_TCP}, {"quic", ma.P_QUIC_V1}} {
		t.Run(tc.name, func(t *testing.T) {
			outsider := startLoopbackNode(t, loopbackConfig(t), nil)
			before := member.Refused()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			// The dial itself may "succeed": the member closes the
			// connection once the handshake names the outsider.
			_ = outsider.Host.Connect(ctx, peer.AddrInfo{ID: member.Host.ID(), Addrs: addrsOf(member.Host, tc.proto)})
			testkit.WaitFor(t, 10*time.Second, "the member refused the outsider", func() bool {
				return member.Refused() > before &&
					member.Host.Network().Connectedness(outsider.Host.ID()) != network.Connected &&
					outsider.Host.Network().Connectedness(member.Host.ID()) != network.Connected
			})
			testkit.WaitFor(t, 10*time.Second, "the outsider knows it was refused", func() bool { return outsider.RefusedBy() == 1 })
			// and holds its dials back rather than hammer the member.
			if err := outsider.Host.Connect(ctx, peer.AddrInfo{ID: member.Host.ID(), Addrs: addrsOf(member.Host, tc.proto)}); err == nil {
				t.Error("the refused outsider dialled the member again at once")
			}

			// The member never dials it either.
			member.Host.Peerstore().AddAddrs(outsider.Host.ID(), addrsOf(outsider.Host, tc.proto), time.Minute)
			if err := member.Host.Connect(ctx, peer.AddrInfo{ID: outsider.Host.ID()}); err == nil {
				t.Error("the member dialled the outsider")
			}
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := friend.Host.Connect(ctx, peer.AddrInfo{ID: member.Host.ID(), Addrs: member.Host.Addrs()}); err != nil {
		t.Fatalf("a listed peer could not connect: %v", err)
	}
	if got := refusedCount(t, reg, "not_member"); got < 3 {
		t.Errorf("meshhealth_peers_refused_total{reason=not_member} = %v, want the 2 handshakes and the dial", got)
	}
}

// A member taken off the list is disconnected by Enforce at once (the
// node calls it on each change of the list, which it reads every
// membership.ReloadInterval), and cannot come back.
func TestRemovedMemberIsDisconnectedAndStaysOut(t *testing.T) {
	list := &allowList{}
	a := startMemberNode(t, list, nil)
	b := startMemberNode(t, list, nil)
	list.set(a.Host.ID(), b.Host.ID())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.Host.Connect(ctx, peer.AddrInfo{ID: a.Host.ID(), Addrs: a.Host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "both connected", func() bool { return a.ConnectedPeers() == 1 && b.ConnectedPeers() == 1 })

	list.set(a.Host.ID())
	a.Enforce()
	if a.Host.Network().Connectedness(b.Host.ID()) == network.Connected {
		t.Fatal("the removed member is still connected after Enforce")
	}
	_ = b.Host.Connect(network.WithForceDirectDial(ctx, "test"), peer.AddrInfo{ID: a.Host.ID(), Addrs: a.Host.Addrs()})
	testkit.WaitFor(t, 10*time.Second, "the removed member refused again", func() bool {
		return a.ConnectedPeers() == 0 && a.Refused() >= 2
	})
}

// refusedCount reads meshhealth_peers_refused_total{reason} from reg.
func refusedCount(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "meshhealth_peers_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no meshhealth_peers_refused_total{reason=%q}", reason)
	return 0
}

func TestRefusalsAreLoggedOnceAnHourPerPeer(t *testing.T) {
	r := newRefusals()
	now := time.Unix(0, 0)
	r.now = func() time.Time { return now }
	a, b := peer.ID("a"), peer.ID("b")
	r.mu.Lock()
	got := []bool{r.shouldLog(a, now), r.shouldLog(a, now.Add(time.Minute)), r.shouldLog(b, now.Add(time.Minute)), r.shouldLog(a, now.Add(refusalLogEvery))}
	r.mu.Unlock()
	want := []bool{true, false, true, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("log decisions %v, want %v", got, want)
		}
	}
}

// A peer that refused this node is not dialled for refusedDialBackoff and
// counted as refusing for refusedMemory, unless identify succeeds with it
// or it is connected.
func TestRefusedByBacksOffThenForgets(t *testing.T) {
	r := newRefusedBy()
	now := time.Unix(0, 0)
	r.now = func() time.Time { return now }
	a, b := peer.ID("a"), peer.ID("b")
	none := func(peer.ID) bool { return false }
	r.failed(a)
	r.failed(b)
	if !r.backingOff(a) || r.count(none) != 2 {
		t.Fatalf("just refused: backing off %v, count %d", r.backingOff(a), r.count(none))
	}
	r.letNext(a)
	if r.backingOff(a) || !r.backingOff(a) {
		t.Error("letNext should let exactly the next dial through")
	}
	if c := r.count(func(p peer.ID) bool { return p == b }); c != 1 {
		t.Errorf("b connected again: count %d, want 1", c)
	}
	r.identified(b)
	now = now.Add(refusedDialBackoff)
	if r.backingOff(a) || r.count(none) != 1 {
		t.Fatalf("after the backoff: backing off %v, count %d (want false, 1)", r.backingOff(a), r.count(none))
	}
	now = now.Add(refusedMemory)
	if r.count(none) != 0 {
		t.Errorf("after the memory: count %d, want 0", r.count(none))
	}
}
