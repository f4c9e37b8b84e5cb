package wire

import (
	"reflect"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// fuzzDecode checks Decode's contract on arbitrary bytes: it never panics,
// and what it accepts re-encodes to a message it decodes to the same value.
func fuzzDecode(f *testing.F, topic string) {
	origin := testPeer(f, 1)
	for _, m := range examples(f, origin) {
		data := mustEncode(f, m)
		f.Add(data)
		if TopicOf(m) == topic {
			f.Add(data[:len(data)/2])
		}
	}
	f.Add([]byte(`{"v":1,"type":"heartbeat","origin":"","ts":1,"term":1e3}`))
	f.Add([]byte(`{"v":1,"type":"summary","components":{"a":null}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(topic, data)
		if err != nil {
			if m != nil {
				t.Fatalf("error %v with a message %#v", err, m)
			}
			if ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted %q but cannot re-encode it: %v", data, err)
		}
		back, err := Decode(topic, again)
		if err != nil {
			t.Fatalf("re-encoded %q is refused: %v", again, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip changed the message:\n got %#v\nwant %#v", back, m)
		}
	})
}

func FuzzDecodeProbe(f *testing.F)    { fuzzDecode(f, TopicProbe) }
func FuzzDecodeElection(f *testing.F) { fuzzDecode(f, TopicElection) }
func FuzzDecodeSummary(f *testing.F)  { fuzzDecode(f, TopicSummary) }

// FuzzDecodeProbeDirect runs the same contract on a direct topic, whose
// inbox rule (ReasonWrongInbox) is part of decoding; the owner is the
// examples' "other", so their Ack passes it.
func FuzzDecodeProbeDirect(f *testing.F) {
	owner := testPeer(f, 101)
	p := &Probe{Nonce: "9f86d081884c7d65", Responders: []peer.ID{owner}}
	p.Stamp(testPeer(f, 1), exampleTime)
	f.Add(mustEncode(f, p))
	fuzzDecode(f, DirectTopic(owner))
}
