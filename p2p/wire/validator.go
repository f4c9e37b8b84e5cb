package wire

import (
	"context"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Defaults of ValidatorOptions.
const (
	// DefaultMaxSkew is how far a message's ts may lie from the receiver's
	// clock. Wide enough for unsynchronised LAN clocks and a slow mesh,
	// narrow enough that a recorded message is useless half a minute later.
	DefaultMaxSkew = 30 * time.Second
	// DefaultReplayCapacity bounds each topic's replay cache. A 50-node
	// mesh sends well under 100 messages a second per topic; 2 x skew of
	// that is 6000 entries.
	DefaultReplayCapacity = 1 << 15
)

// ValidatorOptions configures NewValidator. The zero value works but for
// Self, which every node should set.
type ValidatorOptions struct {
	// Self is the local peer. Its own publishes are shape-checked (a bug
	// must not put a malformed message on the wire) but not held to the
	// clock or replay rules: pubsub validates them before they leave.
	Self peer.ID
	// Metrics counts rejections; nil counts nothing.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |ts - now|; zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// ReplayCapacity bounds the replay cache; zero means
	// DefaultReplayCapacity.
	ReplayCapacity int
	// Check is a topic's own rule, run on a message that passed the shape,
	// origin and clock checks, before the replay check. It returns "" to accept or the reason to reject with
	// (a metric label: short, snake_case, from a fixed set).
	Check func(from peer.ID, m Message) (reason string)
	// Logger receives one debug line per rejection; nil discards.
	Logger *slog.Logger
}

type validator struct {
	topic  string
	opts   ValidatorOptions
	replay *replayCache
	log    *slog.Logger
}

// NewValidator returns the GossipSub validator of a meshhealth topic, to
// register with pubsub.RegisterTopicValidator. It decodes the message
// (Decode), checks that origin is the signed author, that ts lies within
// MaxSkew of now, runs opts.Check, and last that (author, type, identity)
// was not accepted before. An accepted message carries its decoded Message in
// msg.ValidatorData, so subscribers never decode twice. Anything else is
// ValidationReject, counted in meshhealth_pubsub_rejected_total{topic,reason}.
// For an unknown topic every message is rejected as unknown_topic.
//
// Authorship rests on GossipSub's strict signing (the default policy):
// msg.GetFrom() is the key that signed the message.
func NewValidator(topic string, opts ValidatorOptions) pubsub.ValidatorEx {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	if opts.ReplayCapacity <= 0 {
		opts.ReplayCapacity = DefaultReplayCapacity
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &validator{topic: topic, opts: opts, replay: newReplayCache(opts.ReplayCapacity), log: log}
	return v.validate
}

func (v *validator) validate(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	m, reason := v.judge(from, msg)
	if reason != "" {
		v.opts.Metrics.Rejected(TopicFamily(v.topic), reason)
		v.log.Debug("pubsub message rejected", "topic", v.topic, "reason", reason,
			"author", msg.GetFrom(), "from", from)
		return pubsub.ValidationReject
	}
	msg.ValidatorData = m
	return pubsub.ValidationAccept
}

func (v *validator) judge(from peer.ID, msg *pubsub.Message) (Message, string) {
	if msg.GetTopic() != v.topic {
		// pubsub routes by topic; a mismatch means this validator was
		// registered on the wrong topic.
		return nil, ReasonUnknownTopic
	}
	author := msg.GetFrom()
	m, err := Decode(v.topic, msg.GetData())
	if err != nil {
		return nil, ReasonOf(err)
	}
	h := m.Head()
	if h.Origin != author {
		return nil, ReasonWrongOrigin
	}
	// A local publish arrives with from == self; the same message echoed
	// back by a peer is dropped by pubsub's seen-cache before it gets here.
	if v.opts.Self != "" && from == v.opts.Self && author == v.opts.Self {
		return m, ""
	}
	now := v.opts.Now()
	ts := h.Time()
	if d := now.Sub(ts); d > v.opts.MaxSkew || d < -v.opts.MaxSkew {
		return nil, ReasonStale
	}
	if v.opts.Check != nil {
		if reason := v.opts.Check(author, m); reason != "" {
			return nil, reason
		}
	}
	// Last, so that only accepted messages take a slot: the entry lives
	// until the message would be stale anyway (plus a second of margin).
	key := string(author) + "\x00" + m.Type() + "\x00" + m.replayKey()
	if v.replay.seenOrAdd(key, now, ts.Add(v.opts.MaxSkew+time.Second)) {
		return nil, ReasonReplayed
	}
	return m, ""
}
