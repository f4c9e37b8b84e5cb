package p2p

import (
	"context"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// outbox is a GossipSub RawTracer that counts the RPCs carrying messages
// that GossipSub has queued for a peer and not yet written to its stream.
// A leaving node stops GossipSub once its last messages (the resignation,
// the goodbye) are written, not before: stopping drops whatever is still
// queued. Control-only RPCs are not counted; the hello packet, written
// without being queued, carries no message either.
type outbox struct {
	noopTracer
	mu      sync.Mutex
	pending map[peer.ID]int
	total   int
	// changed is closed and replaced at every write or peer loss, so that
	// a waiter sleeps until the count may have fallen.
	changed chan struct{}
}

var _ pubsub.RawTracer = (*outbox)(nil)

func newOutbox() *outbox {
	return &outbox{pending: map[peer.ID]int{}, changed: make(chan struct{})}
}

// SendRPC is called from GossipSub's event loop once an RPC is queued.
func (o *outbox) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	if len(rpc.GetPublish()) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending[p]++
	o.total++
}

// SendRPCCompleted is called from the peer's writer once the RPC is on the
// stream. It may come before SendRPC for the same RPC (the writer can pop
// it before the event loop reports the push), so a peer's count can dip
// below zero for a moment; the sum is right once both are in.
func (o *outbox) SendRPCCompleted(rpc *pubsub.RPC, p peer.ID, _ time.Duration) {
	if len(rpc.GetPublish()) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending[p]--
	o.total--
	o.wake()
}

// OnClosedOutboundStream: the peer is gone and its queue with it; what it
// held will never be written, so it is no longer waited for.
func (o *outbox) OnClosedOutboundStream(p peer.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.total -= o.pending[p]
	delete(o.pending, p)
	o.wake()
}

func (o *outbox) wake() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// drain waits until nothing counted is left unwritten, or ctx ends.
func (o *outbox) drain(ctx context.Context) error {
	for {
		o.mu.Lock()
		total, changed := o.total, o.changed
		o.mu.Unlock()
		if total <= 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
