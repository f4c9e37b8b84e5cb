package summary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// GoodbyeProtocol is the direct stream on which a leaving node tells each
// neighbour that it leaves, and waits for the neighbour's ack. The goodbye
// on the summary topic only queues a message: a host that closes right
// after it can close before it leaves, and a neighbour that sees the link
// close without a goodbye takes the leave for a death (issue 21). The
// stream is acknowledged once the neighbour has recorded the leave, so the
// close that follows can only be read as the leave it is.
const GoodbyeProtocol protocol.ID = "/meshhealth/goodbye/1.0.0"

// goodbyeAck is the one byte a neighbour answers once it has recorded the
// goodbye.
const goodbyeAck = 'k'

// goodbyeReadTimeout bounds how long a neighbour waits for the goodbye on
// a stream it accepted: the leaver writes it at once.
const goodbyeReadTimeout = 5 * time.Second

// Departed is told of a peer's goodbye heard on the direct stream, with the
// goodbye's own timestamp, before the goodbye is acknowledged (the node
// makes the peer left in its liveness view). The topic's goodbyes reach
// the liveness view through its validator instead.
type Departed func(id peer.ID, written time.Time)

// ServeGoodbyes accepts the direct goodbyes of h's peers: each is recorded
// (departed, then the book, as a goodbye on the topic is) before it is
// acknowledged. Stop with h.RemoveStreamHandler(GoodbyeProtocol).
func (b *Book) ServeGoodbyes(h host.Host, departed Departed) {
	h.SetStreamHandler(GoodbyeProtocol, func(s network.Stream) {
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(goodbyeReadTimeout))
		m, err := readGoodbye(s, s.Conn().RemotePeer())
		if err != nil {
			b.log.Debug("refused a direct goodbye", "peer", s.Conn().RemotePeer(), "err", err)
			_ = s.Reset()
			return
		}
		if departed != nil {
			departed(m.Origin, m.Time())
		}
		b.goodbye(m.Origin, m)
		if _, err := s.Write([]byte{goodbyeAck}); err != nil {
			b.log.Debug("acknowledging a goodbye", "peer", m.Origin, "err", err)
		}
	})
}

// readGoodbye decodes the one goodbye a stream carries: at most
// wire.MaxSize bytes, the summary topic's strict rules, and written by the
// stream's own (authenticated) remote peer.
func readGoodbye(r io.Reader, remote peer.ID) (*wire.Goodbye, error) {
	data, err := io.ReadAll(io.LimitReader(r, wire.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read goodbye: %w", err)
	}
	m, err := wire.Decode(wire.TopicSummary, data)
	if err != nil {
		return nil, err
	}
	bye, ok := m.(*wire.Goodbye)
	if !ok {
		return nil, fmt.Errorf("a %s on the goodbye stream", m.Type())
	}
	if bye.Origin != remote {
		return nil, fmt.Errorf("goodbye written by %s, sent by %s", bye.Origin, remote)
	}
	return bye, nil
}

// Farewell is what a direct goodbye round found: the peers told, and
// those that acknowledged.
type Farewell struct {
	Told, Acked int
}

// SayGoodbye tells every peer h is connected to, each on its own direct
// stream and all at once, that this node leaves, and waits for their acks
// until ctx ends. Call it after Goodbye (which stops the summaries and
// tells the members that are not neighbours) and before the host closes.
// A peer that does not speak the protocol, or does not answer in time, is
// counted told but not acked; the error says how many.
func (b *Book) SayGoodbye(ctx context.Context, h host.Host, reason string) (Farewell, error) {
	m := &wire.Goodbye{Reason: truncate(reason, wire.MaxReasonLen)}
	m.Stamp(b.self, time.Now())
	data, err := wire.Encode(m)
	if err != nil {
		return Farewell{}, err
	}
	peers := h.Network().Peers()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		f     = Farewell{Told: len(peers)}
		first error
	)
	for _, id := range peers {
		wg.Go(func() {
			err := sendGoodbye(ctx, h, id, data)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				f.Acked++
			} else if first == nil {
				first = fmt.Errorf("goodbye to %s: %w", id, err)
			}
		})
	}
	wg.Wait()
	if f.Acked < f.Told {
		return f, fmt.Errorf("%d of %d peers did not acknowledge the goodbye; first: %w", f.Told-f.Acked, f.Told, first)
	}
	return f, nil
}

// errNoAck is a goodbye stream that ended without the ack.
var errNoAck = errors.New("stream ended without an ack")

func sendGoodbye(ctx context.Context, h host.Host, id peer.ID, data []byte) error {
	// Over the connection there is: a leaving node dials nobody.
	s, err := h.NewStream(network.WithNoDial(ctx, "goodbye"), id, GoodbyeProtocol)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	if _, err := s.Write(data); err != nil {
		_ = s.Reset()
		return err
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return err
	}
	var ack [1]byte
	if _, err := io.ReadFull(s, ack[:]); err != nil || ack[0] != goodbyeAck {
		_ = s.Reset()
		if err == nil {
			err = errNoAck
		}
		return err
	}
	return s.Close()
}
