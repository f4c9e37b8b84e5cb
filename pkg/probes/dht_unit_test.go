package probes

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeStore is a DHT whose remote peers answer as the test says.
type fakeStore struct {
	mu      sync.Mutex
	put     []byte
	readers []peer.ID
	// answer gives peer i's reply to the read-back of the value put.
	answer func(ctx context.Context, i int, put []byte) ([]byte, error)
	// putHangs makes PutValue store the value, then wait out its context
	// and succeed, as kad-dht's PutValue does when one of the closest
	// peers is dead: it waits for every peer and returns nil.
	putHangs bool
}

func (f *fakeStore) PutValue(ctx context.Context, _ string, v []byte) error {
	f.mu.Lock()
	f.put = v
	f.mu.Unlock()
	if f.putHangs {
		<-ctx.Done()
	}
	return nil
}

func (f *fakeStore) NearestPeers(_ string, n int) []peer.ID {
	return f.readers[:min(n, len(f.readers))]
}

func (f *fakeStore) GetValueFrom(ctx context.Context, p peer.ID, _ string) ([]byte, error) {
	f.mu.Lock()
	put := f.put
	f.mu.Unlock()
	for i, r := range f.readers {
		if r == p {
			return f.answer(ctx, i, put)
		}
	}
	return nil, errors.New("unknown peer")
}

func TestDHTIntegrityJudgesEachRemoteAnswer(t *testing.T) {
	sk, _ := edKey(t)
	otherSK, _ := edKey(t)
	readers := make([]peer.ID, 3)
	for i := range readers {
		_, readers[i] = edKey(t)
	}
	old := encoded(t, signedRecord(t, sk, 1))
	foreign := encoded(t, signedRecord(t, otherSK, 1))
	errDown := errors.New("protocol not supported")
	hang := func(ctx context.Context) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() }

	cases := []struct {
		name    string
		answer  func(ctx context.Context, i int, put []byte) ([]byte, error)
		healthy bool
		want    string
	}{
		{"all intact", func(_ context.Context, _ int, put []byte) ([]byte, error) { return put, nil }, true, "from 3 of 3"},
		{"one intact is enough", func(_ context.Context, i int, put []byte) ([]byte, error) {
			if i == 0 {
				return put, nil
			}
			return nil, errDown
		}, true, "from 1 of 3"},
		{"an older record of ours is stale, not forged", func(_ context.Context, i int, put []byte) ([]byte, error) {
			if i == 0 {
				return put, nil
			}
			return old, nil
		}, true, "from 1 of 3"},
		{"a dead reader costs the grace, not the timeout", func(ctx context.Context, i int, put []byte) ([]byte, error) {
			if i == 0 {
				return put, nil
			}
			return hang(ctx)
		}, true, "from 1 of 3"},
		{"nobody holds it", func(context.Context, int, []byte) ([]byte, error) { return nil, nil }, false, "no remote peer returned the record: 3 asked, 3 without it"},
		{"nobody answers", func(context.Context, int, []byte) ([]byte, error) { return nil, errDown }, false, "3 errors"},
		{"only stale copies", func(context.Context, int, []byte) ([]byte, error) { return old, nil }, false, "3 stale"},
		{"one forged answer fails the probe", func(_ context.Context, i int, put []byte) ([]byte, error) {
			if i == 2 {
				return foreign, nil
			}
			return put, nil
		}, false, "integrity violation: peer " + readers[2].String()},
		{"garbage is a violation", func(_ context.Context, i int, put []byte) ([]byte, error) {
			if i == 1 {
				return []byte("garbage"), nil
			}
			return put, nil
		}, false, "integrity violation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := &fakeStore{readers: readers, answer: c.answer}
				p, err := NewDHTIntegrity(store, sk, DHTConfig{}, prometheus.NewRegistry(), nil)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				r := p.Check().Checker(context.Background())
				if r.Healthy != c.healthy || !strings.Contains(r.Message, c.want) {
					t.Fatalf("healthy=%v %q; want healthy=%v and %q", r.Healthy, r.Message, c.healthy, c.want)
				}
				if took := time.Since(start); r.Healthy && took > time.Second {
					t.Fatalf("a passing probe took %v of fake time", took)
				}
			})
		})
	}
}

// One dead peer among the closest must not fail the probe of every healthy
// node: the put may wait on it, but the read-back keeps its share of the
// time and the live readers answer.
func TestDHTIntegrityPassesWhenAPutWaitsOnADeadPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sk, _ := edKey(t)
		readers := make([]peer.ID, 3)
		for i := range readers {
			_, readers[i] = edKey(t)
		}
		store := &fakeStore{readers: readers, putHangs: true, answer: func(ctx context.Context, i int, put []byte) ([]byte, error) {
			if i == 2 { // the dead one
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return put, nil
		}}
		p, err := NewDHTIntegrity(store, sk, DHTConfig{}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := p.Check().Checker(context.Background())
		if !r.Healthy || !strings.Contains(r.Message, "from 2 of 3") {
			t.Fatalf("healthy=%v %q; want a pass read back from the 2 live peers", r.Healthy, r.Message)
		}
	})
}

func TestDHTIntegrityRefusesANodeKeyPeersCannotVerify(t *testing.T) {
	sk, _, err := genECDSA()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDHTIntegrity(&fakeStore{}, sk, DHTConfig{}, nil, nil); err == nil {
		t.Fatal("an ECDSA identity was accepted: its records could not be verified from its peer ID")
	}
}

func TestDHTIntegritySeqNeverGoesBack(t *testing.T) {
	sk, _ := edKey(t)
	p, err := NewDHTIntegrity(&fakeStore{}, sk, DHTConfig{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.lastSeq.Store(uint64(time.Now().Add(time.Hour).UnixMicro())) // as after a clock step back
	a, b := p.nextSeq(), p.nextSeq()
	if b <= a || a == 0 {
		t.Fatalf("seq %d then %d", a, b)
	}
}

func genECDSA() (crypto.PrivKey, crypto.PubKey, error) {
	return crypto.GenerateECDSAKeyPair(rand.Reader)
}
