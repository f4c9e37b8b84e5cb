package probes

import (
	"context"
	"errors"
	"fmt"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	kb "github.com/libp2p/go-libp2p-kbucket"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/peer"
)

// KadStore adapts a go-libp2p-kad-dht IpfsDHT to DHTStore. Reading back
// goes through the DHT's protocol messenger to one named peer at a time:
// IpfsDHT.GetValue and SearchValue answer from the local store too and do
// not say who answered, so they cannot prove a remote copy exists.
type KadStore struct {
	dht  *dht.IpfsDHT
	pm   *pb.ProtocolMessenger
	live func(peer.ID) bool
}

// OnlyLive restricts the peers written to and read from to those live
// reports true for (the liveness view): the routing table keeps a dead or
// departed peer until a query to it fails, and a probe must not spend its
// budget on one.
func (k *KadStore) OnlyLive(live func(peer.ID) bool) { k.live = live }

// NewKadStore wraps d.
func NewKadStore(d *dht.IpfsDHT) (*KadStore, error) {
	pm, err := pb.NewProtocolMessenger(d.MessageSender())
	if err != nil {
		return nil, fmt.Errorf("dht protocol messenger: %w", err)
	}
	return &KadStore{dht: d, pm: pm}, nil
}

// putPeers is how many of the routing table's nearest peers receive the
// record: the same ones the read-back asks (DefaultDHTReaders).
const putPeers = DefaultDHTReaders

// putGrace bounds how long the put waits for the other peers once one has
// stored the record: a dead peer must cost milliseconds, not the timeout.
const putGrace = 100 * time.Millisecond

// PutValue sends one PUT_VALUE to each of the nearest peers of the routing
// table and returns once one of them has stored it (and the others have
// had putGrace to follow), or all have failed.
//
// Not IpfsDHT.PutValue: it starts with a network lookup and then waits for
// every closest peer, so one dead peer in a LAN mesh made every healthy
// node's probe time out (the lookup, or the put to the dead peer, ran out
// the clock) and, the check being critical, could shut the whole mesh
// down. Writing to the routing table's nearest peers still exercises the
// DHT protocol end to end (PUT_VALUE, the remote validator, GET_VALUE).
func (k *KadStore) PutValue(ctx context.Context, key string, value []byte) error {
	// The node keeps its own copy as IpfsDHT.PutValue would, so it serves
	// the record too; PutValue writes it locally before its lookup, and a
	// cancelled context stops it there. (The probe never counts that copy.)
	local, stop := context.WithCancel(ctx)
	stop()
	_ = k.dht.PutValue(local, key, value)

	peers := k.NearestPeers(key, putPeers)
	if len(peers) == 0 {
		return errors.New("no peer in the routing table to put to")
	}

	rec := record.MakePutRecord(key, value)
	rec.TimeReceived = time.Now().UTC().Format(time.RFC3339Nano)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(peers))
	for _, p := range peers {
		go func() { errs <- k.pm.PutValue(ctx, p, rec) }()
	}
	var failed []error
	var grace <-chan time.Time
	for range peers {
		select {
		case err := <-errs:
			if err != nil {
				failed = append(failed, err)
			} else if grace == nil {
				grace = time.After(putGrace)
			}
		case <-grace:
			return nil
		case <-ctx.Done():
			if grace != nil {
				return nil
			}
			return fmt.Errorf("PUT_VALUE to %d peers: %w", len(peers), ctx.Err())
		}
	}
	if len(failed) == len(peers) {
		return fmt.Errorf("PUT_VALUE refused by all %d peers: %w", len(peers), errors.Join(failed...))
	}
	return nil
}

// NearestPeers reads the routing table, keeping only live peers; no lookup
// is made.
func (k *KadStore) NearestPeers(key string, n int) []peer.ID {
	if k.live == nil {
		return k.dht.RoutingTable().NearestPeers(kb.ConvertKey(key), n)
	}
	near := k.dht.RoutingTable().NearestPeers(kb.ConvertKey(key), 4*n)
	out := make([]peer.ID, 0, n)
	for _, p := range near {
		if len(out) == n {
			break
		}
		if k.live(p) {
			out = append(out, p)
		}
	}
	return out
}

// GetValueFrom sends one GET_VALUE request to p.
func (k *KadStore) GetValueFrom(ctx context.Context, p peer.ID, key string) ([]byte, error) {
	rec, _, err := k.pm.GetValue(ctx, p, key)
	if err != nil {
		return nil, fmt.Errorf("GET_VALUE: %w", err)
	}
	if rec == nil {
		return nil, nil
	}
	return rec.GetValue(), nil
}
