package probes

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/liveness"
)

func TestPickRespondersPrefersPeersNotDirectlyConnected(t *testing.T) {
	ids := make([]peer.ID, 6)
	for i := range ids {
		_, ids[i] = edKey(t)
	}
	directSet := func(d ...peer.ID) func(peer.ID) bool {
		return func(id peer.ID) bool { return slices.Contains(d, id) }
	}
	cases := []struct {
		name         string
		cands        []peer.ID
		direct       func(peer.ID) bool
		wantLen      int
		wantIndirect int // how many of the chosen must be indirect
	}{
		{"no candidates", nil, directSet(), 0, 0},
		{"fewer than three", ids[:2], directSet(ids[0]), 2, 1},
		{"indirect peers fill the three slots", ids, directSet(ids[0], ids[1], ids[2]), 3, 3},
		{"two indirect, then a neighbour", ids[:5], directSet(ids[0], ids[1], ids[2]), 3, 2},
		{"only neighbours", ids[:4], directSet(ids...), 3, 0},
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 20 { // whatever the shuffle
				got := pickResponders(c.cands, c.direct, MaxResponders, rng)
				if len(got) != c.wantLen {
					t.Fatalf("chose %d, want %d", len(got), c.wantLen)
				}
				indirect := 0
				for _, id := range got {
					if !c.direct(id) {
						indirect++
					}
				}
				if indirect != c.wantIndirect {
					t.Fatalf("%d indirect responders, want %d", indirect, c.wantIndirect)
				}
			}
		})
	}
}

// fakeTopic loops a probe back to its author and lets the test play the
// responders.
type fakeTopic struct {
	p     *PubSubProbe
	view  *liveness.View
	self  peer.ID
	peers []peer.ID
	// onProbe plays the mesh for each probe published; nil delivers it
	// locally only.
	onProbe func(m *wire.Probe, data []byte)

	mu     sync.Mutex
	probes []*wire.Probe
	acks   []*wire.Ack
}

func (f *fakeTopic) Publish(_ context.Context, data []byte, _ ...pubsub.PubOpt) error {
	m, err := wire.Decode(wire.TopicProbe, data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch m := m.(type) {
	case *wire.Probe:
		f.probes = append(f.probes, m)
		if f.onProbe != nil {
			go f.onProbe(m, data)
		} else {
			go f.deliver(f.self, data)
		}
	case *wire.Ack:
		f.acks = append(f.acks, m)
	}
	return nil
}

func (f *fakeTopic) ListPeers() []peer.ID { return f.peers }

func (f *fakeTopic) Subscribe(...pubsub.SubOpt) (*pubsub.Subscription, error) {
	return nil, errors.New("fake topic: no subscriptions")
}

func (f *fakeTopic) deliver(author peer.ID, data []byte) {
	f.p.handle(context.Background(), &pubsub.Message{Message: &pb.Message{From: []byte(author), Data: data}})
}

func (f *fakeTopic) ack(responder peer.ID, m *wire.Probe, delay time.Duration) {
	time.Sleep(delay)
	data, _ := encodeAck(responder, time.Now(), m.Nonce, m.Origin)
	f.deliver(responder, data)
}

type allDirect bool

func (d allDirect) Connectedness(peer.ID) network.Connectedness {
	if d {
		return network.Connected
	}
	return network.NotConnected
}

// newFakeProbe builds a probe on a fake topic and marks it started.
func newFakeProbe(t *testing.T, npeers, minPeers int) (*PubSubProbe, *fakeTopic) {
	_, self := edKey(t)
	ft := &fakeTopic{self: self}
	for range npeers {
		_, id := edKey(t)
		ft.peers = append(ft.peers, id)
	}
	view, err := liveness.NewView(self, liveness.Config{}, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ft.peers {
		view.Observe(id, liveness.Connected, time.Time{})
	}
	ft.view = view
	p, err := NewPubSubRoundTrip(ft, self, allDirect(true), view, PubSubConfig{MinPeers: minPeers}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ft.p = p
	done := make(chan struct{})
	close(done)
	p.cancel, p.done = func() {}, done
	return p, ft
}

func TestPubSubRoundTripOutcomes(t *testing.T) {
	cases := []struct {
		name      string
		peers     int
		minPeers  int
		onProbe   func(ft *fakeTopic) func(m *wire.Probe, data []byte)
		healthy   bool
		want      string
		wantRTTms float64 // 0: not checked
	}{
		{"first ack after local delivery passes with its round-trip", 3, 1, func(ft *fakeTopic) func(*wire.Probe, []byte) {
			return func(m *wire.Probe, data []byte) {
				ft.deliver(ft.self, data)
				ft.ack(m.Responders[0], m, 30*time.Millisecond)
			}
		}, true, "ack from", 30},
		{"an ack without local delivery is not enough", 3, 1, func(ft *fakeTopic) func(*wire.Probe, []byte) {
			return func(m *wire.Probe, _ []byte) { ft.ack(m.Responders[0], m, 0) }
		}, false, "own probe not delivered locally", 0},
		{"local delivery without an ack fails", 3, 1, func(ft *fakeTopic) func(*wire.Probe, []byte) {
			return func(_ *wire.Probe, data []byte) { ft.deliver(ft.self, data) }
		}, false, "no ack from 2 responders", 0},
		{"an ack from a peer not asked does not count", 3, 1, func(ft *fakeTopic) func(*wire.Probe, []byte) {
			return func(m *wire.Probe, data []byte) {
				ft.deliver(ft.self, data)
				_, stranger := edKey(t)
				ft.ack(stranger, m, 0)
			}
		}, false, "no ack", 0},
		// Nobody to ask is not the mesh failing this node: p2p-connectivity
		// and min_peers judge the peer count.
		{"no live peer passes on local delivery", 0, 1, nil, true, "no live peer to ask", 0},
		{"alone by choice (min_peers 0) passes on local delivery", 0, 0, nil, true, "no live peer to ask", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, ft := newFakeProbe(t, c.peers, c.minPeers)
				if c.onProbe != nil {
					ft.onProbe = c.onProbe(ft)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				r := p.Check().Checker(ctx)
				time.Sleep(time.Second) // let the fake mesh finish playing
				synctest.Wait()
				if r.Healthy != c.healthy || !strings.Contains(r.Message, c.want) {
					t.Fatalf("healthy=%v %q; want healthy=%v and %q", r.Healthy, r.Message, c.healthy, c.want)
				}
				if c.wantRTTms != 0 && r.Details["rtt_ms"] != c.wantRTTms {
					t.Fatalf("rtt_ms = %v, want %v (the first ack's)", r.Details["rtt_ms"], c.wantRTTms)
				}
				if c.healthy && c.peers > 0 && r.Details["acks_expected"] != firstResponders {
					t.Fatalf("acks_expected = %v, want %d: one ack is enough in the common case", r.Details["acks_expected"], firstResponders)
				}
			})
		})
	}
}

func TestPubSubProbeAcksOnlyProbesThatListIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, ft := newFakeProbe(t, 0, 0)
		_, prober := edKey(t)
		_, other := edKey(t)
		listed, _ := encodeProbe(prober, time.Now(), "00aa11bb22cc", []peer.ID{other, p.self})
		unlisted, _ := encodeProbe(prober, time.Now(), "33dd44ee55ff", []peer.ID{other})
		ft.deliver(prober, listed)
		ft.deliver(prober, unlisted)
		synctest.Wait()
		if len(ft.acks) != 1 {
			t.Fatalf("%d acks published, want 1", len(ft.acks))
		}
		a := ft.acks[0]
		if a.Nonce != "00aa11bb22cc" || a.ProbeFrom != prober || a.Origin != p.self {
			t.Fatalf("ack %+v", a)
		}
	})
}

func TestPubSubProbeAsksOthersWhenEveryResponderSaysGoodbye(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, ft := newFakeProbe(t, 5, 1)
		ft.onProbe = func(m *wire.Probe, data []byte) {
			ft.deliver(ft.self, data)
			ft.mu.Lock()
			first := len(ft.probes) == 1
			ft.mu.Unlock()
			if first {
				// Graceful leavers: no failure may be counted against them.
				for _, r := range m.Responders {
					ft.view.Observe(r, liveness.Goodbye, time.Now())
					p.Forget(r)
				}
				return
			}
			ft.ack(m.Responders[0], m, 10*time.Millisecond)
		}
		r := p.Check().Checker(context.Background())
		if !r.Healthy {
			t.Fatalf("failed: %s", r.Message)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		ft.mu.Lock()
		defer ft.mu.Unlock()
		if len(ft.probes) != 2 {
			t.Fatalf("%d probes published, want 2", len(ft.probes))
		}
		for _, r := range ft.probes[1].Responders {
			if slices.Contains(ft.probes[0].Responders, r) {
				t.Fatalf("a peer that said goodbye was asked again: %s", r)
			}
		}
		// And later probes leave them out too.
		left := ft.probes[0].Responders
		fresh, fallback := p.candidates()
		for _, c := range append(fresh, fallback...) {
			if slices.Contains(left, c) {
				t.Fatalf("candidate %s said goodbye", c)
			}
		}
	})
}

func TestProbeTopicMessagesMustComeFromTheirOrigin(t *testing.T) {
	_, author := edKey(t)
	_, other := edKey(t)
	data, err := encodeAck(other, time.Now(), "0123456789ab", author)
	if err != nil {
		t.Fatal(err)
	}
	msg := &pubsub.Message{Message: &pb.Message{From: []byte(author), Data: data}}
	if _, err := decodeProbeTopic(msg); err == nil {
		t.Fatal("an ack in another peer's name was accepted")
	}
	msg.From = []byte(other)
	if m, err := decodeProbeTopic(msg); err != nil || m.Type() != wire.TypeAck {
		t.Fatalf("genuine ack: %v, %v", m, err)
	}
}
