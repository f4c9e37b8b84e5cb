package summary

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

func newID(t *testing.T) peer.ID {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fakeTopic records what is published.
type fakeTopic struct {
	mu   sync.Mutex
	msgs []wire.Message
}

func (f *fakeTopic) Publish(_ context.Context, data []byte, _ ...pubsub.PubOpt) error {
	m, err := wire.Decode(wire.TopicSummary, data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
	return nil
}

func (f *fakeTopic) Subscribe(...pubsub.SubOpt) (*pubsub.Subscription, error) {
	return nil, errors.New("fake topic: no subscriptions")
}

func (f *fakeTopic) published() []wire.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.Message(nil), f.msgs...)
}

func healthyValues() Values {
	return Values{Status: "healthy", Score: 0.97, Components: map[string]float64{"pubsub": 1, "dht": 0.9}, Peers: 4, Version: "test"}
}

// deliver hands the book a message from author, as its subscription would.
func deliver(t *testing.T, b *Book, author peer.ID, m wire.Message) {
	t.Helper()
	data, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	b.handle(&pubsub.Message{Message: &pb.Message{From: []byte(author), Data: data}})
}

func summaryFrom(author peer.ID, seq uint64, at time.Time) *wire.Summary {
	m := toWire(healthyValues())
	m.Seq = seq
	m.Stamp(author, at)
	return m
}

func goodbyeFrom(author peer.ID, at time.Time) *wire.Goodbye {
	m := &wire.Goodbye{Reason: "SIGTERM"}
	m.Stamp(author, at)
	return m
}

func TestSummaryIsPublishedEveryIntervalUntilGoodbye(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ft := &fakeTopic{}
		b, err := New(ft, newID(t), healthyValues, Config{}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { b.publishLoop(ctx); close(done) }()

		time.Sleep(35 * time.Second)
		synctest.Wait()
		msgs := ft.published()
		if len(msgs) != 4 { // at 0, 10, 20 and 30 s
			t.Fatalf("%d summaries in 35 s, want 4", len(msgs))
		}
		var last uint64
		for _, m := range msgs {
			s := m.(*wire.Summary)
			if s.Seq <= last {
				t.Fatalf("seq %d after %d", s.Seq, last)
			}
			last = s.Seq
			if s.Status != "healthy" || s.Score != 0.97 || s.Peers != 4 || s.Origin != b.self {
				t.Fatalf("summary %+v", s)
			}
		}

		if err := b.Goodbye(ctx, "SIGTERM"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		msgs = ft.published()
		if len(msgs) != 5 {
			t.Fatalf("%d messages after the goodbye, want the 4 summaries and the goodbye only", len(msgs))
		}
		if g, ok := msgs[4].(*wire.Goodbye); !ok || g.Reason != "SIGTERM" {
			t.Fatalf("last message %#v", msgs[4])
		}
		cancel()
		<-done
	})
}

func TestBookKeepsTheLatestSummaryPerPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(&fakeTopic{}, newID(t), healthyValues, Config{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, c := newID(t), newID(t)
		now := time.Now()
		deliver(t, b, a, summaryFrom(a, 10, now))
		deliver(t, b, a, summaryFrom(a, 9, now)) // reordered: older
		deliver(t, b, c, summaryFrom(c, 1, now))
		deliver(t, b, b.self, summaryFrom(b.self, 1, now)) // own, looped back
		if e, ok := b.Latest(a); !ok || e.Summary.Seq != 10 {
			t.Fatalf("latest of a: %+v %v", e, ok)
		}
		if got := b.KnownPeers(); len(got) != 2 {
			t.Fatalf("known peers %v, want a and c only", got)
		}

		// c goes quiet; a keeps talking.
		for range 4 {
			time.Sleep(10 * time.Second)
			deliver(t, b, a, summaryFrom(a, uint64(time.Now().UnixMilli()), time.Now()))
		}
		if _, ok := b.Latest(c); ok {
			t.Fatal("a peer silent for 4 intervals still has a current summary")
		}
		if got := b.KnownPeers(); len(got) != 1 || got[0] != a {
			t.Fatalf("known peers %v, want only a", got)
		}
	})
}

func TestGoodbyeDropsTheLeaverAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		b, err := New(&fakeTopic{}, newID(t), healthyValues, Config{}, reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var gone []peer.ID
		b.OnGoodbye(func(id peer.ID) { gone = append(gone, id) })
		leaver, stayer := newID(t), newID(t)
		deliver(t, b, leaver, summaryFrom(leaver, 1, time.Now()))
		deliver(t, b, stayer, summaryFrom(stayer, 1, time.Now()))

		written := time.Now()
		time.Sleep(time.Second)
		deliver(t, b, leaver, goodbyeFrom(leaver, time.Now()))
		if len(gone) != 1 || gone[0] != leaver {
			t.Fatalf("goodbye callbacks got %v", gone)
		}
		if _, ok := b.Latest(leaver); ok {
			t.Fatal("the leaver is still in the book")
		}
		// A summary it wrote before leaving, delivered late, does not bring
		// it back...
		deliver(t, b, leaver, summaryFrom(leaver, 2, written))
		if _, ok := b.Latest(leaver); ok {
			t.Fatal("a summary written before the goodbye brought the leaver back")
		}
		// ...one written after a restart does.
		time.Sleep(5 * time.Second)
		deliver(t, b, leaver, summaryFrom(leaver, uint64(time.Now().UnixMilli()), time.Now()))
		if _, ok := b.Latest(leaver); !ok {
			t.Fatal("the restarted peer was not taken back")
		}
		if got := testutil.ToFloat64(b.goodbyes); got != 1 {
			t.Fatalf("meshhealth_summary_goodbyes_received_total = %v", got)
		}
	})
}

func TestSummaryValuesAreMadeAcceptableToPeers(t *testing.T) {
	many := map[string]float64{}
	for i := range 20 {
		many[fmt.Sprintf("c%02d", i)] = 0.5
	}
	leader := newID(t)
	cases := []struct {
		name  string
		v     Values
		check func(*wire.Summary) error
	}{
		{"NaN and out-of-range scores are clamped", Values{Status: "healthy", Score: math.NaN(), Components: map[string]float64{"pubsub": 1.5, "dht": -1}},
			func(s *wire.Summary) error {
				if s.Score != 0 || s.Components["pubsub"] != 1 || s.Components["dht"] != 0 {
					return fmt.Errorf("scores %v %v", s.Score, s.Components)
				}
				return nil
			}},
		{"at most 16 components", Values{Status: "degraded", Components: many}, func(s *wire.Summary) error {
			if len(s.Components) != wire.MaxComponents {
				return fmt.Errorf("%d components", len(s.Components))
			}
			return nil
		}},
		{"component names the wire refuses are left out", Values{Status: "healthy", Components: map[string]float64{"Bad Name": 1, "ok": 1}}, func(s *wire.Summary) error {
			if len(s.Components) != 1 {
				return fmt.Errorf("components %v", s.Components)
			}
			return nil
		}},
		{"a leader without a term is no leader", Values{Status: "healthy", Leader: leader}, func(s *wire.Summary) error {
			if s.Leader != "" || s.Term != 0 {
				return fmt.Errorf("leader %q term %d", s.Leader, s.Term)
			}
			return nil
		}},
		{"leader and term", Values{Status: "healthy", Leader: leader, Term: 3}, func(s *wire.Summary) error {
			if s.Leader != leader || s.Term != 3 {
				return fmt.Errorf("leader %q term %d", s.Leader, s.Term)
			}
			return nil
		}},
		{"a long version is cut on a rune boundary", Values{Status: "healthy", Version: strings.Repeat("é", 40)}, func(s *wire.Summary) error {
			if len(s.Version) > wire.MaxVersionLen {
				return fmt.Errorf("version of %d bytes", len(s.Version))
			}
			return nil
		}},
		{"no status yet is starting", Values{}, func(s *wire.Summary) error {
			if s.Status != "starting" {
				return fmt.Errorf("status %q", s.Status)
			}
			return nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := toWire(c.v)
			m.Seq = 1
			m.Stamp(leader, time.Now())
			data, err := wire.Encode(m)
			if err != nil {
				t.Fatalf("peers would refuse it: %v", err)
			}
			d, err := wire.Decode(wire.TopicSummary, data)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.check(d.(*wire.Summary)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigValidateRefusesNoInterval(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{}).Validate(); err == nil || err.Error() != "interval: must be > 0, got 0s" {
		t.Fatalf("Validate of no interval = %v", err)
	}
}
