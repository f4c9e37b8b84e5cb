package wire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestEveryMessageRoundTrips(t *testing.T) {
	origin := testPeer(t, 1)
	for _, m := range examples(t, origin) {
		t.Run(m.Type(), func(t *testing.T) {
			data := mustEncode(t, m)
			got, err := Decode(TopicOf(m), data)
			if err != nil {
				t.Fatalf("decode %s: %v", data, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip changed the message:\n got %#v\nwant %#v", got, m)
			}
		})
	}
}

func TestEncodeSendsEmptyCollectionsNotNull(t *testing.T) {
	origin := testPeer(t, 1)
	p := &Probe{Nonce: "0123456789abcdef"}
	p.Stamp(origin, exampleTime)
	if data := mustEncode(t, p); !strings.Contains(string(data), `"responders":[]`) {
		t.Fatalf("probe without responders encoded as %s", data)
	}
	s := &Summary{Seq: 1, Status: "starting"}
	s.Stamp(origin, exampleTime)
	if data := mustEncode(t, s); !strings.Contains(string(data), `"components":{}`) {
		t.Fatalf("summary without components encoded as %s", data)
	}
}

func TestEncodeRefusesWhatPeersWouldReject(t *testing.T) {
	origin := testPeer(t, 1)
	cases := map[string]Message{
		"no origin":     &Heartbeat{Header: Header{TS: 1}, Term: 1, Seq: 1},
		"term zero":     &Resign{Term: 0},
		"score above 1": &Candidate{Term: 1, Score: 1.5},
		"short nonce":   &Probe{Nonce: "abc"},
		"bad status":    &Summary{Seq: 1, Status: "fine"},
		"huge goodbye":  &Goodbye{Reason: strings.Repeat("x", MaxReasonLen+1)},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			if m.Head().Origin == "" && name != "no origin" {
				m.Head().Stamp(origin, exampleTime)
			}
			if _, err := Encode(m); err == nil {
				t.Fatal("encoded a message peers would reject")
			}
		})
	}
}

// object builds a message as a JSON object from a valid example, with some
// keys replaced (a nil value deletes the key).
func object(t *testing.T, m Message, edits map[string]any) []byte {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(mustEncode(t, m), &obj); err != nil {
		t.Fatal(err)
	}
	for k, v := range edits {
		if v == nil {
			delete(obj, k)
		} else {
			obj[k] = v
		}
	}
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeRejectsByReason(t *testing.T) {
	origin := testPeer(t, 1)
	ex := examples(t, origin)
	probe, hb, vote, summary := ex[0], ex[2], ex[4], ex[6]
	cases := []struct {
		name   string
		topic  string
		data   []byte
		reason string
	}{
		{"oversized", TopicProbe, object(t, probe, map[string]any{"pad": strings.Repeat("x", MaxSize)}), ReasonOversized},
		{"not JSON", TopicElection, []byte("heartbeat 7"), ReasonMalformed},
		{"JSON array", TopicElection, []byte(`[{"v":1}]`), ReasonMalformed},
		{"JSON null", TopicElection, []byte(`null`), ReasonMalformed},
		{"empty", TopicElection, nil, ReasonMalformed},
		{"trailing data", TopicElection, append(mustEncode(t, hb), []byte(` {}`)...), ReasonMalformed},
		{"missing v", TopicElection, object(t, hb, map[string]any{"v": nil}), ReasonMalformed},
		{"v as string", TopicElection, object(t, hb, map[string]any{"v": "1"}), ReasonMalformed},
		{"v 2", TopicElection, object(t, hb, map[string]any{"v": 2}), ReasonBadVersion},
		{"missing type", TopicElection, object(t, hb, map[string]any{"type": nil}), ReasonMalformed},
		{"unknown type", TopicElection, object(t, hb, map[string]any{"type": "coup"}), ReasonUnknownType},
		{"type of another topic", TopicElection, mustEncode(t, probe), ReasonUnknownType},
		{"unknown topic", "meshhealth/other/v1", mustEncode(t, hb), ReasonUnknownTopic},
		{"missing origin", TopicElection, object(t, hb, map[string]any{"origin": nil}), ReasonMalformed},
		{"origin not a peer ID", TopicElection, object(t, hb, map[string]any{"origin": "alice"}), ReasonMalformed},
		{"missing ts", TopicElection, object(t, hb, map[string]any{"ts": nil}), ReasonMalformed},
		{"negative ts", TopicElection, object(t, hb, map[string]any{"ts": -1}), ReasonMalformed},
		{"ts as float", TopicElection, object(t, hb, map[string]any{"ts": 1.5}), ReasonMalformed},
		{"missing term", TopicElection, object(t, hb, map[string]any{"term": nil}), ReasonMalformed},
		{"null term", TopicElection, []byte(strings.Replace(string(mustEncode(t, hb)), `"term":7`, `"term":null`, 1)), ReasonMalformed},
		{"term zero", TopicElection, object(t, hb, map[string]any{"term": 0}), ReasonMalformed},
		{"term above 2^53", TopicElection, object(t, hb, map[string]any{"term": uint64(1) << 53}), ReasonMalformed},
		{"negative term", TopicElection, object(t, hb, map[string]any{"term": -3}), ReasonMalformed},
		{"score above 1", TopicElection, object(t, hb, map[string]any{"score": 1.01}), ReasonMalformed},
		{"score negative", TopicElection, object(t, hb, map[string]any{"score": -0.1}), ReasonMalformed},
		{"seq zero", TopicElection, object(t, hb, map[string]any{"seq": 0}), ReasonMalformed},
		{"vote for nobody", TopicElection, object(t, vote, map[string]any{"candidate": ""}), ReasonMalformed},
		{"empty nonce", TopicProbe, object(t, probe, map[string]any{"nonce": ""}), ReasonMalformed},
		{"nonce too long", TopicProbe, object(t, probe, map[string]any{"nonce": strings.Repeat("a", MaxNonceLen+1)}), ReasonMalformed},
		{"nonce not hex or base64", TopicProbe, object(t, probe, map[string]any{"nonce": "héllo wörld"}), ReasonMalformed},
		{"four responders", TopicProbe, object(t, probe, map[string]any{"responders": []string{
			testPeer(t, 2).String(), testPeer(t, 3).String(), testPeer(t, 4).String(), testPeer(t, 5).String()}}), ReasonMalformed},
		{"responder twice", TopicProbe, object(t, probe, map[string]any{"responders": []string{
			testPeer(t, 2).String(), testPeer(t, 2).String()}}), ReasonMalformed},
		{"responder not a peer ID", TopicProbe, object(t, probe, map[string]any{"responders": []string{"bob"}}), ReasonMalformed},
		{"responders not a list", TopicProbe, object(t, probe, map[string]any{"responders": "bob"}), ReasonMalformed},
		{"summary status unknown", TopicSummary, object(t, summary, map[string]any{"status": "great"}), ReasonMalformed},
		{"summary leader without term", TopicSummary, object(t, summary, map[string]any{"term": 0}), ReasonMalformed},
		{"summary component score", TopicSummary, object(t, summary, map[string]any{"components": map[string]any{"dht": 2}}), ReasonMalformed},
		{"summary component name", TopicSummary, object(t, summary, map[string]any{"components": map[string]any{"DHT!": 1}}), ReasonMalformed},
		{"summary negative peers", TopicSummary, object(t, summary, map[string]any{"peers": -1}), ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode(c.topic, c.data)
			if err == nil {
				t.Fatalf("accepted %s as %#v", c.data, m)
			}
			if got := ReasonOf(err); got != c.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, c.reason)
			}
		})
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	hb := examples(t, testPeer(t, 1))[2]
	data := object(t, hb, map[string]any{"leader_hint": "x", "future": map[string]any{"a": []int{1}}})
	got, err := Decode(TopicElection, data)
	if err != nil {
		t.Fatalf("unknown fields refused: %v", err)
	}
	if got.(*Heartbeat).Term != 7 {
		t.Fatalf("decoded %#v", got)
	}
}

// encoding/json matches keys case-insensitively; the wire does not, so a
// Go peer and a JavaScript peer read the same message the same way.
func TestDecodeMatchesKeysExactly(t *testing.T) {
	hb := examples(t, testPeer(t, 1))[2]
	data := object(t, hb, map[string]any{"TERM": 99})
	got, err := Decode(TopicElection, data)
	if err != nil {
		t.Fatal(err)
	}
	if term := got.(*Heartbeat).Term; term != 7 {
		t.Fatalf("term %d: a differently cased key overrode the real one", term)
	}
	data = object(t, hb, map[string]any{"term": nil, "Term": 7})
	if _, err := Decode(TopicElection, data); ReasonOf(err) != ReasonMalformed {
		t.Fatalf("a message with only a differently cased key was accepted: %v", err)
	}
}

func TestDecodeAcceptsEveryNonceEncoding(t *testing.T) {
	p := examples(t, testPeer(t, 1))[0]
	for _, nonce := range []string{"00ff00ff00ff00ff", "q83vEjRWeJA=", "q83vEjRWeJA", "-_-_-_-_-_", "ab+/ab+/"} {
		if _, err := Decode(TopicProbe, object(t, p, map[string]any{"nonce": nonce})); err != nil {
			t.Errorf("nonce %q refused: %v", nonce, err)
		}
	}
}

func TestReasonOf(t *testing.T) {
	for err, want := range map[error]string{
		nil:                        "",
		fmt.Errorf("plain"):        ReasonMalformed,
		reject(ReasonStale, "old"): ReasonStale,
		fmt.Errorf("wrapped: %w", reject(ReasonReplayed, "again")): ReasonReplayed,
	} {
		if got := ReasonOf(err); got != want {
			t.Errorf("ReasonOf(%v) = %q, want %q", err, got, want)
		}
	}
}
