package probes

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// DirectPubSub is what direct round-trips need of the node's
// *pubsub.PubSub: to publish on a neighbour's direct topic it joins it
// without subscribing (GossipSub's fanout), behind a validator so that its
// own publishes there meet the same rules and faults as on every other
// meshhealth topic.
type DirectPubSub interface {
	Join(topic string, opts ...pubsub.TopicOpt) (*pubsub.Topic, error)
	ListPeers(topic string) []peer.ID
	RegisterTopicValidator(topic string, val interface{}, opts ...pubsub.ValidatorOpt) error
	UnregisterTopicValidator(topic string) error
}

// Direct is this node's direct probe topic (wire.DirectTopic) and its
// handles on its neighbours' ones. A probe published on a neighbour's
// direct topic reaches that neighbour alone, one hop through GossipSub,
// and its ack comes back on ours: a round-trip costs each end one message,
// so it can run at a fixed interval whatever the mesh size
// (docs/ARCHITECTURE.md, "Flat cost").
type Direct struct {
	ps        DirectPubSub
	own       *pubsub.Topic
	validator func(topic string) pubsub.ValidatorEx

	mu    sync.Mutex
	peers map[peer.ID]*pubsub.Topic
}

// NewDirect takes this node's joined direct topic (its validator is the
// node's to register, as for every topic it subscribes to) and the
// validator to register on each neighbour's topic it publishes on; nil
// registers none.
func NewDirect(ps DirectPubSub, own *pubsub.Topic, validator func(topic string) pubsub.ValidatorEx) *Direct {
	return &Direct{ps: ps, own: own, validator: validator, peers: map[peer.ID]*pubsub.Topic{}}
}

// reachable reports whether id is subscribed to its direct topic as seen
// from here: a node hears the subscriptions of its direct neighbours only,
// and an older node subscribes to none.
func (d *Direct) reachable(id peer.ID) bool {
	return slices.Contains(d.ps.ListPeers(wire.DirectTopic(id)), id)
}

// publish sends data to id's direct topic.
func (d *Direct) publish(ctx context.Context, id peer.ID, data []byte) error {
	t, err := d.topic(id)
	if err != nil {
		return err
	}
	return t.Publish(ctx, data)
}

func (d *Direct) topic(id peer.ID) (*pubsub.Topic, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.peers[id]; ok {
		return t, nil
	}
	name := wire.DirectTopic(id)
	if d.validator != nil {
		if err := d.ps.RegisterTopicValidator(name, d.validator(name)); err != nil {
			return nil, fmt.Errorf("validator %s: %w", name, err)
		}
	}
	t, err := d.ps.Join(name)
	if err != nil {
		if d.validator != nil {
			d.ps.UnregisterTopicValidator(name)
		}
		return nil, fmt.Errorf("join %s: %w", name, err)
	}
	d.peers[id] = t
	return t, nil
}

// joined lists the neighbours whose direct topics this node holds.
func (d *Direct) joined() []peer.ID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Collect(maps.Keys(d.peers))
}

// prune leaves the direct topics of peers no longer reachable, so the
// handles stay as many as the neighbours.
func (d *Direct) prune() {
	for _, id := range d.joined() {
		if !d.reachable(id) {
			d.leave(id)
		}
	}
}

func (d *Direct) leave(id peer.ID) {
	d.mu.Lock()
	t, ok := d.peers[id]
	delete(d.peers, id)
	d.mu.Unlock()
	if !ok {
		return
	}
	t.Close()
	if d.validator != nil {
		d.ps.UnregisterTopicValidator(wire.DirectTopic(id))
	}
}

// Close leaves every neighbour's direct topic (not this node's own: its
// joiner leaves it).
func (d *Direct) Close() {
	for _, id := range d.joined() {
		d.leave(id)
	}
}

// wideDue is the rule that picks a run's path: the whole probe topic (its
// multi-hop forwarding, at the budget's pace) when every has passed since
// the last such run, or when no neighbour can be asked directly (alone,
// or among older nodes); a direct round-trip otherwise.
func wideDue(now, last time.Time, every time.Duration, neighbours int) bool {
	return neighbours == 0 || now.Sub(last) >= every
}
