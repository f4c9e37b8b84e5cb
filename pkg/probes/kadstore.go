package probes

import (
	"context"
	"fmt"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/peer"
)

// KadStore adapts a go-libp2p-kad-dht IpfsDHT to DHTStore. Reading back
// goes through the DHT's protocol messenger to one named peer at a time:
// IpfsDHT.GetValue and SearchValue answer from the local store too and do
// not say who answered, so they cannot prove a remote copy exists.
type KadStore struct {
	dht *dht.IpfsDHT
	pm  *pb.ProtocolMessenger
}

// NewKadStore wraps d.
func NewKadStore(d *dht.IpfsDHT) (*KadStore, error) {
	pm, err := pb.NewProtocolMessenger(d.MessageSender())
	if err != nil {
		return nil, fmt.Errorf("dht protocol messenger: %w", err)
	}
	return &KadStore{dht: d, pm: pm}, nil
}

// PutValue stores value locally and on the closest peers (IpfsDHT.PutValue).
func (k *KadStore) PutValue(ctx context.Context, key string, value []byte) error {
	return k.dht.PutValue(ctx, key, value)
}

// NearestPeers reads the routing table; no lookup is made.
func (k *KadStore) NearestPeers(key string, n int) []peer.ID {
	return k.dht.RoutingTable().NearestPeers(kb.ConvertKey(key), n)
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
