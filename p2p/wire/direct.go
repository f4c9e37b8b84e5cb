package wire

import (
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TopicProbeDirect names the family of direct probe topics: one per node,
// TopicProbeDirect + "/" + its peer ID, to which only that node subscribes.
// A neighbour publishes a Probe there (GossipSub's fanout: the one
// subscriber is the only receiver) and the owner acks on the prober's own
// direct topic, so a round-trip costs each of the two nodes one message
// whatever the mesh size (docs/ARCHITECTURE.md, "Flat cost"). It carries
// the probe topic's types, under one more rule (ReasonWrongInbox).
const TopicProbeDirect = "meshhealth/probe-direct/v1"

// ReasonWrongInbox refuses a message on a direct topic that is not for its
// owner: a Probe must list exactly the owner as its one responder, an Ack
// must answer a probe of the owner. Anything else has no business reaching
// that node.
const ReasonWrongInbox = "wrong_inbox"

// DirectTopic is owner's direct probe topic.
func DirectTopic(owner peer.ID) string { return TopicProbeDirect + "/" + owner.String() }

// DirectOwner returns the owner of a direct probe topic; false for any
// other topic, or a suffix that is not a peer ID in its canonical text.
func DirectOwner(topic string) (peer.ID, bool) {
	rest, ok := strings.CutPrefix(topic, TopicProbeDirect+"/")
	if !ok {
		return "", false
	}
	id, err := peer.Decode(rest)
	if err != nil || id.String() != rest {
		return "", false
	}
	return id, true
}

// TopicFamily is the topic a metric is labelled with: a direct topic's
// family (one label, not one per node), any other topic itself.
func TopicFamily(topic string) string {
	if _, ok := DirectOwner(topic); ok {
		return TopicProbeDirect
	}
	return topic
}

// checkInbox applies ReasonWrongInbox to a message decoded on owner's
// direct topic.
func checkInbox(owner peer.ID, m Message) error {
	switch m := m.(type) {
	case *Probe:
		if len(m.Responders) != 1 || m.Responders[0] != owner {
			return reject(ReasonWrongInbox, "a probe on %s's direct topic must name it alone", owner)
		}
	case *Ack:
		if m.ProbeFrom != owner {
			return reject(ReasonWrongInbox, "an ack on %s's direct topic must answer its probe", owner)
		}
	}
	return nil
}
