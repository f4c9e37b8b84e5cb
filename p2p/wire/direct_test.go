package wire

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestDirectOwnerAcceptsOnlyCanonicalPeerIDs(t *testing.T) {
	id := testPeer(t, 7)
	cases := []struct {
		topic string
		ok    bool
	}{
		{DirectTopic(id), true},
		{TopicProbeDirect + "/", false},
		{TopicProbeDirect + "/x" + id.String(), false},
		{TopicProbeDirect + "/" + id.String() + "/", false},
		{TopicProbe, false},
		{"meshhealth/probe-direct/v2/" + id.String(), false},
	}
	for _, c := range cases {
		got, ok := DirectOwner(c.topic)
		if ok != c.ok || (ok && got != id) {
			t.Errorf("DirectOwner(%q) = %v, %v; want ok %v", c.topic, got, ok, c.ok)
		}
	}
	if TopicFamily(DirectTopic(id)) != TopicProbeDirect || TopicFamily(TopicSummary) != TopicSummary {
		t.Error("TopicFamily does not fold direct topics into one label")
	}
}

// A direct topic carries probes to its owner and acks for its owner, and
// nothing else: the rule that keeps one node's inbox from becoming a
// channel to anyone else.
func TestDirectTopicCarriesOnlyItsOwnersRoundTrips(t *testing.T) {
	owner, author, other := testPeer(t, 1), testPeer(t, 2), testPeer(t, 3)
	cases := []struct {
		name string
		m    Message
		want string // "" accepts
	}{
		{"probe naming the owner", &Probe{Nonce: "9f86d081884c7d65", Responders: []peer.ID{owner}}, ""},
		{"probe naming another", &Probe{Nonce: "9f86d081884c7d65", Responders: []peer.ID{other}}, ReasonWrongInbox},
		{"probe naming the owner and another", &Probe{Nonce: "9f86d081884c7d65", Responders: []peer.ID{owner, other}}, ReasonWrongInbox},
		{"probe naming nobody", &Probe{Nonce: "9f86d081884c7d65", Responders: []peer.ID{}}, ReasonWrongInbox},
		{"ack of the owner's probe", &Ack{Nonce: "9f86d081884c7d65", ProbeFrom: owner}, ""},
		{"ack of another's probe", &Ack{Nonce: "9f86d081884c7d65", ProbeFrom: other}, ReasonWrongInbox},
		{"summary", &Summary{Seq: 1, Status: "healthy", Components: map[string]float64{}}, ReasonUnknownType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.m.Head().Stamp(author, exampleTime)
			data := mustEncode(t, c.m)
			_, err := Decode(DirectTopic(owner), data)
			if got := ReasonOf(err); got != c.want {
				t.Errorf("reason %q, want %q (%v)", got, c.want, err)
			}
		})
	}
}
