package p2p

import (
	"context"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/meshhealth/meshhealth/p2p/conntags"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

// gossipHeartbeat is GossipSub's mesh maintenance period. One second (the
// library default, stated here so it is a decision): the election's own
// heartbeat is 1 s and the detection budget is a few seconds, so mesh repair
// after a peer loss must take about that long, and a shorter period only
// adds control traffic on a LAN.
const gossipHeartbeat = time.Second

// MaxRPCSize bounds one GossipSub RPC frame, read or written: the largest
// wire message (wire.MaxSize) with its envelope (author, seqno, topic,
// signature, and a key for a peer whose ID does not embed one) and room for
// piggybacked control messages. With the library's 1 MiB default a peer
// could make the node receive and buffer a megabyte per message before the
// wire validator rejects it; a larger frame now resets the stream as it is
// read. Our own nodes split their outgoing RPCs to fit (go-libp2p-pubsub
// does), so a peer in another language must keep its frames within it too.
const MaxRPCSize = wire.MaxSize + 1<<10

// lanMeshDegree sizes the GossipSub mesh for a LAN of small health
// messages. Every message reaches a node once from each mesh peer that
// forwards it, so the mesh degree multiplies each node's transport work
// (and with it CPU, docs/ARCHITECTURE.md "Message budget") while the
// messages themselves stay the same. The library's D = 6, Dhi = 12 is
// sized for lossy internet paths and adversaries; on a LAN, where a lost
// frame is rare and partition detection does not rely on redundancy, a
// degree of 4 (3 to 6) still delivers every message in a few hops (a
// random 4-regular graph of 100 nodes has a diameter of about 5). Lazy
// gossip (IHAVE, one RPC per chosen peer per heartbeat) goes to two
// non-mesh peers per topic whatever the mesh's size: with the library's
// factor of a quarter of the non-mesh peers, a node of a 50-node LAN sent
// a dozen IHAVE RPCs a second, as many as the messages themselves; here it
// stays a repair path.
func lanMeshDegree(p *pubsub.GossipSubParams) {
	p.D, p.Dlo, p.Dhi = 4, 3, 6
	// Dout must stay below Dlo and D/2; Dscore below Dhi (no peer scoring
	// runs, so it only bounds which peers pruning keeps).
	p.Dout, p.Dscore = 1, 2
	p.Dlazy = 2
	p.GossipFactor = 0
}

// newPubSub starts GossipSub with strict signing: every message carries its
// author's signature and unsigned or badly signed ones are dropped, which
// the wire validators rely on to check that a message's origin is its
// author.
func newPubSub(ctx context.Context, h host.Host, extra []pubsub.Option) (*pubsub.PubSub, error) {
	params := pubsub.DefaultGossipSubParams()
	params.HeartbeatInterval = gossipHeartbeat
	params.HeartbeatInitialDelay = 100 * time.Millisecond
	lanMeshDegree(&params)
	opts := []pubsub.Option{
		pubsub.WithGossipSubParams(params),
		// StrictSign is WithMessageSigning(true) plus
		// WithStrictSignatureVerification(true), without the deprecated calls.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		// Peer exchange on PRUNE hands out peer addresses; discovery here is
		// bootstrap and mDNS only.
		pubsub.WithPeerExchange(false),
		// A node's own messages go to its mesh peers only, like those it
		// forwards. Flood publishing (the library's default) sends each to
		// every topic peer: N-1 copies from the author on a LAN where
		// everyone is connected, and one more copy for every node to read;
		// off, a 50-node mesh used a fifth less CPU. It was on for a while
		// to hide a node kept out of its peers' mesh after a graceful
		// restart: leaving its topics on the way out left the peers a
		// backoff for its ID. A node now stops GossipSub before it leaves
		// any topic (Node.StopGossip), so it is grafted again at once.
		pubsub.WithFloodPublish(false),
		pubsub.WithMaxMessageSize(MaxRPCSize),
	}
	return pubsub.NewGossipSub(ctx, conntags.Host(h, conntags.MeshPeer), append(opts, extra...)...)
}
