package probes

import (
	"context"
	"sync/atomic"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PathFault is the node's own message path broken on purpose, one way at a
// time, so that its checks' detection of its own failure can be measured
// (POST /debug/fault, pubsub outbound-only and inbound-only). It acts in
// the validators of every meshhealth topic, which pubsub runs on every
// message before it is delivered or forwarded, local publishes included.
type PathFault struct {
	outbound, inbound atomic.Bool
}

// SetOutbound is outbound-only: while on, this node's own messages do not
// leave it (its publishes fail at local validation), while it still hears
// and forwards the mesh's.
func (f *PathFault) SetOutbound(on bool) { f.outbound.Store(on) }

// SetInbound is inbound-only: while on, no message from a peer reaches
// this node (nor is forwarded by it), while its own still leave.
func (f *PathFault) SetInbound(on bool) { f.inbound.Store(on) }

// Wrap puts the fault in front of a topic's validator: outermost, so that
// nothing it ignores counts as heard (Activity) or as evidence of life.
// next nil accepts.
func (f *PathFault) Wrap(self peer.ID, next pubsub.ValidatorEx) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if r, cut := f.judge(self, from); cut {
			return r
		}
		if next == nil {
			return pubsub.ValidationAccept
		}
		return next(ctx, from, msg)
	}
}

// judge is the rule: a local publish (from == self) meets the outbound
// fault, anything a peer sent meets the inbound fault.
func (f *PathFault) judge(self, from peer.ID) (pubsub.ValidationResult, bool) {
	if from == self {
		return pubsub.ValidationIgnore, f.outbound.Load()
	}
	return pubsub.ValidationIgnore, f.inbound.Load()
}
