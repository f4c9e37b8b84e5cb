package probes

import (
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// The probe topic's messages are wire.Probe and wire.Ack; these helpers
// stamp and encode them, and read them back from a delivered message.

func encodeProbe(origin peer.ID, now time.Time, nonce string, responders []peer.ID) ([]byte, error) {
	m := &wire.Probe{Nonce: nonce, Responders: responders}
	m.Stamp(origin, now)
	return wire.Encode(m)
}

func encodeAck(origin peer.ID, now time.Time, nonce string, probeFrom peer.ID) ([]byte, error) {
	m := &wire.Ack{Nonce: nonce, ProbeFrom: probeFrom}
	m.Stamp(origin, now)
	return wire.Encode(m)
}

// decodeProbeTopic returns the message the topic validator decoded
// (wire.NewValidator leaves it in ValidatorData), or decodes it here when
// the topic runs without that validator. The origin must be the signed
// author either way.
func decodeProbeTopic(msg *pubsub.Message) (wire.Message, error) {
	m, ok := msg.ValidatorData.(wire.Message)
	if !ok {
		var err error
		if m, err = wire.Decode(wire.TopicProbe, msg.GetData()); err != nil {
			return nil, err
		}
	}
	if m.Head().Origin != msg.GetFrom() {
		return nil, errors.New("origin is not the signed author")
	}
	switch m.(type) {
	case *wire.Probe, *wire.Ack:
		return m, nil
	}
	return nil, fmt.Errorf("%s message on %s", m.Type(), wire.TopicProbe)
}
