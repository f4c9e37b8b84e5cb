package wire

import (
	"reflect"
	"testing"
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
