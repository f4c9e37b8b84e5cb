package wire

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Version is the only envelope version this code speaks. A peer that needs
// an incompatible change bumps it and the topic suffix together.
const Version = 1

// MaxSize bounds an encoded message. Every message fits in a few hundred
// bytes; the bound keeps a misbehaving peer from making the mesh carry and
// parse large blobs.
const MaxSize = 4 << 10

// MaxInt is the largest term, sequence number or counter the protocol
// allows: 2^53-1, the largest integer a JSON number survives in every
// language (JavaScript reads larger ones as inexact doubles).
const MaxInt = 1<<53 - 1

// Topics.
const (
	TopicProbe    = "meshhealth/probe/v1"
	TopicElection = "meshhealth/election/v1"
	TopicSummary  = "meshhealth/summary/v1"
)

// Message types.
const (
	TypeProbe     = "probe"
	TypeAck       = "ack"
	TypeHeartbeat = "heartbeat"
	TypeCandidate = "candidate"
	TypeVote      = "vote"
	TypeResign    = "resign"
	TypeSummary   = "summary"
	TypeGoodbye   = "goodbye"
)

// Topics lists every meshhealth topic.
func Topics() []string { return []string{TopicProbe, TopicElection, TopicSummary} }

// TopicTypes lists the message types a topic carries; nil for an unknown
// topic.
func TopicTypes(topic string) []string {
	switch topic {
	case TopicProbe:
		return []string{TypeProbe, TypeAck}
	case TopicElection:
		return []string{TypeHeartbeat, TypeCandidate, TypeVote, TypeResign}
	case TopicSummary:
		return []string{TypeSummary, TypeGoodbye}
	}
	if _, ok := DirectOwner(topic); ok {
		return []string{TypeProbe, TypeAck}
	}
	return nil
}

// Message is one decoded wire message: a pointer to one of the types below.
// The unexported methods seal the set, so a Message is always one the
// decoder knows how to check.
type Message interface {
	// Type is the message's "type" field.
	Type() string
	// Head gives access to the envelope fields common to every message.
	Head() *Header

	fill(f fields) error
	check() error
	replayKey() string
}

// Header is the envelope every message carries.
type Header struct {
	V    int    `json:"v"`
	Kind string `json:"type"`
	// Origin is the author, and must equal the GossipSub signed author
	// (msg.GetFrom()): the validator rejects any other value, so a peer
	// cannot publish in another's name.
	Origin peer.ID `json:"origin"`
	// TS is the author's clock when it wrote the message, in Unix
	// nanoseconds.
	TS int64 `json:"ts"`
}

// Head returns h itself; it is promoted to every message type.
func (h *Header) Head() *Header { return h }

// Time returns TS as a time.Time.
func (h *Header) Time() time.Time { return time.Unix(0, h.TS) }

// Stamp sets the origin and the timestamp, the two envelope fields the
// author fills (Encode fills v and type).
func (h *Header) Stamp(origin peer.ID, now time.Time) {
	h.Origin = origin
	h.TS = now.UnixNano()
}

// Probe asks the listed responders to acknowledge through the mesh
// (meshhealth/probe/v1).
type Probe struct {
	Header
	// Nonce identifies the probe: 8 to 128 characters of hex or
	// (URL-safe) base64.
	Nonce string `json:"nonce"`
	// Responders are at most 3 peers asked to ack; may be empty.
	Responders []peer.ID `json:"responders"`
}

// Ack answers a probe that listed its author as a responder.
type Ack struct {
	Header
	Nonce     string  `json:"nonce"`
	ProbeFrom peer.ID `json:"probe_from"`
}

// Heartbeat is published by the leader of a term every heartbeat interval.
type Heartbeat struct {
	Header
	Term  uint64  `json:"term"`
	Seq   uint64  `json:"seq"` // 1, 2, ... within the term
	Score float64 `json:"score"`
}

// Candidate announces that its author stands for leader in Term.
type Candidate struct {
	Header
	Term    uint64  `json:"term"`
	Score   float64 `json:"score"`
	UptimeS uint64  `json:"uptime_s"`
}

// Vote gives the author's support to Candidate for Term. It is both the
// ballot and, re-sent periodically with a fresh ts, the author's standing
// endorsement of the leader it follows.
type Vote struct {
	Header
	Term      uint64  `json:"term"`
	Candidate peer.ID `json:"candidate"`
}

// Resign is published by a leader that steps down from Term of its own
// accord (shutdown, unhealthy), so failover does not wait for a timeout.
type Resign struct {
	Header
	Term uint64 `json:"term"`
}

// Summary is a node's periodic health summary (meshhealth/summary/v1).
type Summary struct {
	Header
	Seq        uint64             `json:"seq"`
	Status     string             `json:"status"`
	Score      float64            `json:"score"`
	Components map[string]float64 `json:"components"`
	Peers      int                `json:"peers"`
	Leader     peer.ID            `json:"leader"` // empty when no leader is known
	Term       uint64             `json:"term"`   // 0 when no leader is known
	Version    string             `json:"version"`
}

// Goodbye tells peers that its author is leaving on purpose, so they do not
// count the silence that follows as a failure.
type Goodbye struct {
	Header
	Reason string `json:"reason"`
}

func (*Probe) Type() string     { return TypeProbe }
func (*Ack) Type() string       { return TypeAck }
func (*Heartbeat) Type() string { return TypeHeartbeat }
func (*Candidate) Type() string { return TypeCandidate }
func (*Vote) Type() string      { return TypeVote }
func (*Resign) Type() string    { return TypeResign }
func (*Summary) Type() string   { return TypeSummary }
func (*Goodbye) Type() string   { return TypeGoodbye }

// newMessage returns an empty message of a type the topic carries, or nil.
func newMessage(topic, typ string) Message {
	if _, ok := DirectOwner(topic); ok {
		topic = TopicProbe
	}
	switch topic {
	case TopicProbe:
		switch typ {
		case TypeProbe:
			return &Probe{}
		case TypeAck:
			return &Ack{}
		}
	case TopicElection:
		switch typ {
		case TypeHeartbeat:
			return &Heartbeat{}
		case TypeCandidate:
			return &Candidate{}
		case TypeVote:
			return &Vote{}
		case TypeResign:
			return &Resign{}
		}
	case TopicSummary:
		switch typ {
		case TypeSummary:
			return &Summary{}
		case TypeGoodbye:
			return &Goodbye{}
		}
	}
	return nil
}

// TopicOf returns the topic that carries the message's type.
func TopicOf(m Message) string {
	switch m.(type) {
	case *Probe, *Ack:
		return TopicProbe
	case *Heartbeat, *Candidate, *Vote, *Resign:
		return TopicElection
	case *Summary, *Goodbye:
		return TopicSummary
	}
	return ""
}
