package probes

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/liveness"
)

// The rules of "do no harm" for the network probes: a node's check fails
// only on evidence that the fault is its own, never because other peers
// died, left or froze.

func TestDeadAndDepartedPeersAreNeverAskedToAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, ft := newFakeProbe(t, 6, 1)
		dead, left := ft.peers[0], ft.peers[1]
		ft.view.Observe(left, liveness.Goodbye, time.Now())
		ft.view.Observe(dead, liveness.Disconnected, time.Time{})
		ft.view.Observe(dead, liveness.PingFailed, time.Time{}) // the closed link's check
		ctx, cancel := context.WithCancel(context.Background())
		go ft.view.Run(ctx)
		time.Sleep(7 * time.Second) // past the suspicion timeout
		cancel()
		synctest.Wait()
		if st, _ := ft.view.Get(dead); st.State != liveness.Dead {
			t.Fatalf("the disconnected peer is %s, want dead", st.State)
		}
		ft.onProbe = func(m *wire.Probe, data []byte) {
			ft.deliver(ft.self, data)
			for _, r := range m.Responders {
				ft.ack(r, m, time.Millisecond)
			}
		}
		for range 30 {
			if r := p.Check().Checker(context.Background()); !r.Healthy {
				t.Fatalf("failed: %s", r.Message)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for _, m := range ft.probes {
			if slices.Contains(m.Responders, dead) || slices.Contains(m.Responders, left) {
				t.Fatalf("probe asked %v, which names a dead or departed peer", m.Responders)
			}
		}
	})
}

func TestAnUnansweredAttemptAsksOtherPeersBeforeFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, ft := newFakeProbe(t, 4, 1)
		var frozen atomic.Value // the first responder: frozen, it never acks
		ft.onProbe = func(m *wire.Probe, data []byte) {
			ft.deliver(ft.self, data)
			if frozen.Load() == nil {
				frozen.Store(m.Responders[0])
				return
			}
			for _, r := range m.Responders {
				if r != frozen.Load().(peer.ID) {
					ft.ack(r, m, 5*time.Millisecond)
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		r := p.Check().Checker(ctx)
		time.Sleep(time.Second)
		synctest.Wait()
		if !r.Healthy || !strings.Contains(r.Message, "after 1 unanswered") {
			t.Fatalf("healthy=%v %q; want a pass after asking others", r.Healthy, r.Message)
		}
		if len(ft.probes) != 2 || slices.Contains(ft.probes[1].Responders, frozen.Load().(peer.ID)) {
			t.Fatalf("second attempt asked %v; want different responders than %v", ft.probes[1].Responders, ft.probes[0].Responders)
		}
		if st, _ := ft.view.Get(frozen.Load().(peer.ID)); st.State != liveness.Suspect || st.Evidence != liveness.MissedAck {
			t.Fatalf("the silent responder is %s (%s), want suspect on a missed ack", st.State, st.Evidence)
		}
		// The next run does not start with it.
		r = p.Check().Checker(context.Background())
		if !r.Healthy || ft.probes[2].Responders[0] == frozen.Load().(peer.ID) {
			t.Fatalf("next run asked the suspect first: %v (%q)", ft.probes[2].Responders, r.Message)
		}
	})
}

func TestFailsOnlyWhenNoLivePeerAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, ft := newFakeProbe(t, 3, 1)
		ft.onProbe = func(_ *wire.Probe, data []byte) { ft.deliver(ft.self, data) } // nobody acks
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		r := p.Check().Checker(ctx)
		synctest.Wait()
		if r.Healthy {
			t.Fatalf("passed with no ack from anyone: %q", r.Message)
		}
		asked := map[peer.ID]bool{}
		for _, m := range ft.probes {
			for _, id := range m.Responders {
				asked[id] = true
			}
		}
		if len(asked) != 3 {
			t.Fatalf("asked %d distinct peers before failing, want all 3 live ones", len(asked))
		}
	})
}

func TestASilentMeshFailsFastWithoutAskingMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, self := edKey(t)
		ft := &fakeTopic{self: self}
		view, _ := liveness.NewView(self, liveness.Config{}, nil, nil, nil, nil)
		for range 4 {
			_, id := edKey(t)
			ft.peers = append(ft.peers, id)
			view.Observe(id, liveness.Connected, time.Time{})
		}
		ft.view = view
		heard := func(time.Time) bool { return false } // a partition: not a word from anyone
		p, err := NewPubSubRoundTrip(ft, self, allDirect(false), view, PubSubConfig{MinPeers: 1, Heard: heard}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ft.p = p
		done := make(chan struct{})
		close(done)
		p.cancel, p.done = func() {}, done
		ft.onProbe = func(_ *wire.Probe, data []byte) { ft.deliver(ft.self, data) }
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		r := p.Check().Checker(ctx)
		took := time.Since(start)
		synctest.Wait()
		if r.Healthy || !strings.Contains(r.Message, "no message from any peer") || len(ft.probes) != 1 {
			t.Fatalf("healthy=%v %q after %d probes; want one unanswered attempt, failed", r.Healthy, r.Message, len(ft.probes))
		}
		if took >= 3*time.Second {
			t.Fatalf("took %s; a silent mesh should fail after the first attempt", took)
		}
	})
}

func TestDHTProbeAloneHasNoPeersToProbe(t *testing.T) {
	sk, _ := edKey(t)
	store := &fakeStore{}
	p, err := NewDHTIntegrity(store, sk, DHTConfig{LivePeers: func() int { return 0 }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := p.Check().Checker(context.Background())
	if !r.Healthy || r.Message != "no live peer to probe" {
		t.Fatalf("alone: healthy=%v %q", r.Healthy, r.Message)
	}
	// With live peers and an empty routing table, the DHT is broken.
	p.cfg.LivePeers = func() int { return 2 }
	if r := p.Check().Checker(context.Background()); r.Healthy {
		t.Fatalf("live peers but no DHT peer passed: %q", r.Message)
	}
}

type peerCount struct{ connected, left int }

func (p peerCount) ConnectedPeers() int { return p.connected }
func (p peerCount) LeftPeers() int      { return p.left }

func TestConnectivityLeavingIsNotFailing(t *testing.T) {
	cases := []struct {
		name              string
		connected, left   int
		min               int
		healthy, degraded bool
		want              string
	}{
		{"enough peers", 2, 0, 1, true, false, "2 peers connected"},
		{"its last peer left", 0, 1, 1, true, true, "its last peer left"},
		{"never had a peer", 0, 0, 1, false, false, "need at least 1"},
		{"alone by choice", 0, 0, 0, true, false, "0 peers connected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chk := Connectivity(peerCount{c.connected, c.left}, c.min, 5*time.Second, time.Second, nil)
			r := chk.Checker(context.Background())
			if r.Healthy != c.healthy || r.Degraded != c.degraded || !strings.Contains(r.Message, c.want) {
				t.Fatalf("healthy=%v degraded=%v %q; want %v %v %q", r.Healthy, r.Degraded, r.Message, c.healthy, c.degraded, c.want)
			}
		})
	}
}
