package summary

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

func TestADirectGoodbyeIsRecordedBeforeItIsAcknowledged(t *testing.T) {
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	leaver, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	stayer, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := mn.ConnectPeers(leaver.ID(), stayer.ID()); err != nil {
		t.Fatal(err)
	}
	book := func(id peer.ID) *Book {
		b, err := New(&fakeTopic{}, id, func() Values { return Values{} }, Config{}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var heard []peer.ID
	var written time.Time
	stays := book(stayer.ID())
	stays.ServeGoodbyes(stayer, func(id peer.ID, w time.Time) { heard, written = append(heard, id), w })
	var departed []peer.ID
	stays.OnGoodbye(func(id peer.ID) { departed = append(departed, id) })

	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := book(leaver.ID()).SayGoodbye(ctx, leaver, "shutdown")
	if err != nil {
		t.Fatal(err)
	}
	if f != (Farewell{Told: 1, Acked: 1}) {
		t.Fatalf("farewell = %+v, want one told and acked", f)
	}
	// Acknowledged means recorded: no wait here.
	if len(heard) != 1 || heard[0] != leaver.ID() || len(departed) != 1 {
		t.Fatalf("heard %v, departed %v, want the leaver once each", heard, departed)
	}
	if written.Before(before.Add(-time.Second)) || written.After(time.Now()) {
		t.Errorf("goodbye written at %v, want its own timestamp", written)
	}
}

func TestAGoodbyeNobodyAcknowledgesIsAnErrorWithinItsContext(t *testing.T) {
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	leaver, _ := mn.GenPeer()
	mute, _ := mn.GenPeer() // speaks no goodbye protocol
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := mn.ConnectPeers(leaver.ID(), mute.ID()); err != nil {
		t.Fatal(err)
	}
	b, err := New(&fakeTopic{}, leaver.ID(), func() Values { return Values{} }, Config{}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f, err := b.SayGoodbye(ctx, leaver, "shutdown")
	if err == nil || f != (Farewell{Told: 1}) {
		t.Fatalf("farewell = %+v, err %v; want one told, none acked, and an error", f, err)
	}
}

// FuzzReadGoodbye: the direct goodbye stream is external input; whatever
// it carries, the reader neither panics nor accepts a goodbye written by
// anyone but the stream's remote peer.
func FuzzReadGoodbye(f *testing.F) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	remote, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		f.Fatal(err)
	}
	m := &wire.Goodbye{Reason: "shutdown"}
	m.Stamp(remote, time.Unix(1700000000, 0))
	good, err := wire.Encode(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":1,"type":"summary"}`))
	f.Add(bytes.Repeat([]byte("x"), wire.MaxSize+10))
	f.Fuzz(func(t *testing.T, data []byte) {
		bye, err := readGoodbye(bytes.NewReader(data), remote)
		if err == nil && bye.Origin != remote {
			t.Fatalf("accepted a goodbye from %s on %s's stream", bye.Origin, remote)
		}
	})
}

func TestOneLeaveToldTwiceIsOneGoodbye(t *testing.T) {
	self, leaver := newID(t), newID(t)
	b, err := New(&fakeTopic{}, self, func() Values { return Values{} }, Config{}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var told int
	b.OnGoodbye(func(peer.ID) { told++ })
	now := time.Now()
	for _, at := range []time.Time{now, now.Add(3 * time.Millisecond)} { // the topic's, then the direct one
		m := &wire.Goodbye{Reason: "shutdown"}
		m.Stamp(leaver, at)
		b.goodbye(leaver, m)
	}
	if told != 1 {
		t.Fatalf("told %d times, want once", told)
	}
}
