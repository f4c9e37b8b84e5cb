package p2p

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// noopTracer is a GossipSub RawTracer that ignores every hook. The node's
// tracers embed it and implement only the hooks they read.
type noopTracer struct{}

var _ pubsub.RawTracer = noopTracer{}

func (noopTracer) AddPeer(peer.ID, protocol.ID)                         {}
func (noopTracer) RemovePeer(peer.ID)                                   {}
func (noopTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (noopTracer) OnClosedOutboundStream(peer.ID)                       {}
func (noopTracer) Join(string)                                          {}
func (noopTracer) Leave(string)                                         {}
func (noopTracer) Graft(peer.ID, string)                                {}
func (noopTracer) Prune(peer.ID, string)                                {}
func (noopTracer) ValidateMessage(*pubsub.Message)                      {}
func (noopTracer) DeliverMessage(*pubsub.Message)                       {}
func (noopTracer) RejectMessage(*pubsub.Message, string)                {}
func (noopTracer) DuplicateMessage(*pubsub.Message)                     {}
func (noopTracer) ThrottlePeer(peer.ID)                                 {}
func (noopTracer) RecvRPC(*pubsub.RPC)                                  {}
func (noopTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (noopTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (noopTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (noopTracer) UndeliverableMessage(*pubsub.Message)                 {}
