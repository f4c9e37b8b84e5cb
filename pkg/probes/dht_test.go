package probes

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/pkg/health"
)

func newDHTProbe(t *testing.T, nd *meshNode, readers int) *DHTProbe {
	t.Helper()
	store, err := NewKadStore(nd.dht)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewDHTIntegrity(store, nd.key, DHTConfig{Interval: 30 * time.Second, Timeout: 10 * time.Second, Readers: readers}, nd.reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runCheck(t *testing.T, c health.Check) health.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return c.Checker(ctx)
}

func TestDHTIntegrityReadsTheRecordBackFromRemotePeers(t *testing.T) {
	_, nodes := newMesh(t, 5, meshOptions{dht: true})
	for i, nd := range nodes {
		chk := newDHTProbe(t, nd, DefaultDHTReaders).Check()
		if !chk.Critical {
			t.Fatal("dht-integrity must be critical")
		}
		r := runCheck(t, chk)
		if !r.Healthy {
			t.Fatalf("node %d: %s (%v)", i, r.Message, r.Details)
		}
		if n, _ := r.Details["remote_answers"].(int); n < 1 {
			t.Fatalf("node %d passed with %v remote answers", i, r.Details["remote_answers"])
		}
		if r.Details["integrity"] != "ok" {
			t.Fatalf("node %d: integrity %v", i, r.Details["integrity"])
		}
		for _, k := range []string{"put_ms", "get_ms", "remote_answers", "integrity"} {
			if _, ok := r.Details[k]; !ok {
				t.Errorf("details lack %q", k)
			}
		}
	}
}

func TestDHTIntegrityFailPutFaultFailsUntilCleared(t *testing.T) {
	_, nodes := newMesh(t, 5, meshOptions{dht: true})
	p := newDHTProbe(t, nodes[0], DefaultDHTReaders)
	p.SetFailPut(true)
	if r := runCheck(t, p.Check()); r.Healthy || !strings.Contains(r.Message, "fail-put") {
		t.Fatalf("with fail-put: healthy=%v %q", r.Healthy, r.Message)
	}
	p.SetFailPut(false)
	if r := runCheck(t, p.Check()); !r.Healthy {
		t.Fatalf("after clearing fail-put: %s", r.Message)
	}
}

// afterPut runs a hook once the put returned, before the read-back.
type afterPut struct {
	DHTStore
	hook func()
}

func (a afterPut) PutValue(ctx context.Context, key string, v []byte) error {
	err := a.DHTStore.PutValue(ctx, key, v)
	a.hook()
	return err
}

// stopServingDHT makes a node refuse the DHT protocol, on new streams and on
// those its peers keep open for reuse.
func stopServingDHT(nd *meshNode) {
	const kad = protocol.ID("/meshhealth/kad/1.0.0")
	nd.h.RemoveStreamHandler(kad)
	for _, c := range nd.h.Network().Conns() {
		for _, s := range c.GetStreams() {
			if s.Protocol() == kad {
				s.Reset()
			}
		}
	}
}

func TestDHTIntegrityDoesNotCountTheLocalCopy(t *testing.T) {
	for _, when := range []string{"before the put", "between put and read-back"} {
		t.Run("peers stop serving "+when, func(t *testing.T) {
			_, nodes := newMesh(t, 5, meshOptions{dht: true})
			kad, err := NewKadStore(nodes[0].dht)
			if err != nil {
				t.Fatal(err)
			}
			blocked := false
			block := func() {
				if !blocked {
					for _, nd := range nodes[1:] {
						stopServingDHT(nd)
					}
					blocked = true
				}
			}
			armed := false
			store := afterPut{kad, func() {
				if armed {
					block()
				}
			}}
			p, err := NewDHTIntegrity(store, nodes[0].key, DHTConfig{Timeout: 5 * time.Second}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := runCheck(t, p.Check()); !r.Healthy {
				t.Fatalf("healthy mesh: %s", r.Message)
			}
			if when == "before the put" {
				block()
			}
			armed = true
			r := runCheck(t, p.Check())
			if r.Healthy {
				t.Fatalf("passed with no remote peer able to answer: %s", r.Message)
			}
			if n := r.Details["remote_answers"]; n != 0 {
				t.Fatalf("remote_answers = %v", n)
			}
			t.Logf("failure message: %s", r.Message)

			// What a local-store probe (the reference's) would read: this
			// round's record is there, and still the check fails.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			key := ProbeKey(nodes[0].h.ID())
			local, err := nodes[0].dht.GetValue(ctx, key)
			if err != nil {
				t.Fatalf("the local store should hold the probe record: %v", err)
			}
			rec, err := DecodeProbeRecord(local)
			if err != nil || VerifyProbeRecord(key, rec) != nil || rec.Seq != r.Details["seq"] {
				t.Fatalf("local record %+v (%v), want this round's seq %v", rec, err, r.Details["seq"])
			}
		})
	}
}

// liar is a DHT peer's validator that stores and serves one forged value
// under any key and refuses the genuine record, so it keeps answering the
// forgery.
type liar struct {
	mu     sync.Mutex
	forged []byte
}

func (l *liar) set(v []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forged = v
}

func (l *liar) Validate(_ string, v []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !bytes.Equal(v, l.forged) {
		return record.ErrInvalidRecordType
	}
	return nil
}

func (l *liar) Select(_ string, vs [][]byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, v := range vs {
		if bytes.Equal(v, l.forged) {
			return i, nil
		}
	}
	return 0, nil
}

func TestDHTIntegrityReportsAForgedRecordAsAViolation(t *testing.T) {
	l := &liar{}
	const liarIdx = 4
	_, nodes := newMesh(t, 5, meshOptions{dht: true, dhtValidator: func(i int) record.Validator {
		if i == liarIdx {
			return l
		}
		return nil
	}})
	prober := nodes[0]
	key := ProbeKey(prober.h.ID())
	// Ask every peer, so the liar is always among the readers.
	p := newDHTProbe(t, prober, len(nodes))

	cases := []struct {
		name  string
		forge func() []byte
	}{
		{"another peer's record under the prober's key", func() []byte {
			return encoded(t, signedRecord(t, nodes[liarIdx].key, uint64(time.Now().UnixMicro())))
		}},
		{"the prober's record with a bad signature", func() []byte {
			r := signedRecord(t, prober.key, uint64(time.Now().UnixMicro()))
			r.Sig = signedRecord(t, prober.key, 1).Sig
			return encoded(t, r)
		}},
		{"the prober's record with a tampered payload", func() []byte {
			r := signedRecord(t, prober.key, uint64(time.Now().UnixMicro()))
			r.Payload = signedRecord(t, prober.key, 1).Payload
			return encoded(t, r)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forged := c.forge()
			if err := (RecordValidator{}).Validate(key, forged); err == nil {
				t.Fatal("the honest validator accepts the forgery")
			}
			l.set(forged)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			// The liar stores it; honest peers refuse its push.
			_ = nodes[liarIdx].dht.PutValue(ctx, key, forged)
			cancel()

			before := testutil.ToFloat64(p.violations)
			r := runCheck(t, p.Check())
			if r.Healthy {
				t.Fatalf("passed although %s served a forgery: %s", nodes[liarIdx].h.ID(), r.Message)
			}
			if !strings.HasPrefix(r.Message, "integrity violation: ") || !strings.Contains(r.Message, nodes[liarIdx].h.ID().String()) {
				t.Fatalf("message %q should be an integrity violation naming the liar", r.Message)
			}
			if r.Details["integrity"] != "violation" {
				t.Fatalf("integrity detail %v", r.Details["integrity"])
			}
			if got := testutil.ToFloat64(p.violations); got != before+1 {
				t.Fatalf("meshhealth_dht_integrity_violations_total went %v -> %v, want +1", before, got)
			}
		})
	}
}
