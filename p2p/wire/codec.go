package wire

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Decode parses one message received on topic, strictly: at most MaxSize
// bytes, one JSON object, v == Version, a type the topic carries, every field
// of that type present, non-null, of the right JSON type and within its
// bounds. Unknown fields are ignored, so a newer peer may add some; unknown
// types are refused. The error is an *Error whose Reason is the metric
// label.
func Decode(topic string, data []byte) (Message, error) {
	if TopicTypes(topic) == nil {
		return nil, reject(ReasonUnknownTopic, "topic %q is not a meshhealth topic", topic)
	}
	if len(data) > MaxSize {
		return nil, reject(ReasonOversized, "%d bytes, at most %d", len(data), MaxSize)
	}
	var f fields
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, reject(ReasonMalformed, "not a JSON object: %w", err)
	}
	if f == nil {
		return nil, reject(ReasonMalformed, "not a JSON object: null")
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return nil, reject(ReasonMalformed, "trailing data after the JSON object")
	}

	var v int
	if err := f.integer("v", &v); err != nil {
		return nil, reject(ReasonMalformed, "%w", err)
	}
	if v != Version {
		return nil, reject(ReasonBadVersion, "version %d, this peer speaks %d", v, Version)
	}
	var typ string
	if err := f.str("type", &typ); err != nil {
		return nil, reject(ReasonMalformed, "%w", err)
	}
	m := newMessage(topic, typ)
	if m == nil {
		return nil, reject(ReasonUnknownType, "type %q is not carried on %s", typ, topic)
	}
	h := m.Head()
	h.V, h.Kind = v, typ
	if err := m.fill(f); err != nil {
		return nil, reject(ReasonMalformed, "%s: %w", typ, err)
	}
	if err := m.check(); err != nil {
		return nil, reject(ReasonMalformed, "%s: %w", typ, err)
	}
	if owner, ok := DirectOwner(topic); ok {
		if err := checkInbox(owner, m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Encode sets the message's v and type and serialises it, after the same
// checks Decode applies, so a node never publishes what its peers would
// reject. The author sets Origin and TS first (Header.Stamp).
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("encode: nil message")
	}
	h := m.Head()
	h.V, h.Kind = Version, m.Type()
	// Empty collections go out as [] and {}: null would be refused.
	switch t := m.(type) {
	case *Probe:
		if t.Responders == nil {
			t.Responders = []peer.ID{}
		}
	case *Summary:
		if t.Components == nil {
			t.Components = map[string]float64{}
		}
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type(), reject(ReasonMalformed, "%w", err))
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type(), err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("encode %s: %w", m.Type(), reject(ReasonOversized, "%d bytes, at most %d", len(data), MaxSize))
	}
	return data, nil
}
