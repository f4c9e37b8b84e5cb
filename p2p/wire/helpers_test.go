package wire

import (
	"math/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// testPeer returns a stable peer ID per seed, so examples and golden data
// do not change between runs.
func testPeer(t testing.TB, seed int64) peer.ID {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.New(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var exampleTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// examples returns one valid message of every type, authored by origin at
// exampleTime.
func examples(t testing.TB, origin peer.ID) []Message {
	t.Helper()
	other, third := testPeer(t, 101), testPeer(t, 102)
	ms := []Message{
		&Probe{Nonce: "9f86d081884c7d65", Responders: []peer.ID{other, third}},
		&Ack{Nonce: "9f86d081884c7d65", ProbeFrom: other},
		&Heartbeat{Term: 7, Seq: 42, Score: 0.93},
		&Candidate{Term: 8, Score: 0.88, UptimeS: 3600},
		&Vote{Term: 8, Candidate: other},
		&Resign{Term: 7},
		&Summary{Seq: 1767323045000, Status: "healthy", Score: 0.97,
			Components: map[string]float64{"pubsub": 1, "dht": 0.9}, Peers: 4, Leader: other, Term: 7,
			Version: "v0.1.0"},
		&Goodbye{Reason: "shutdown: SIGTERM"},
	}
	for _, m := range ms {
		m.Head().Stamp(origin, exampleTime)
	}
	return ms
}

func mustEncode(t testing.TB, m Message) []byte {
	t.Helper()
	data, err := Encode(m)
	if err != nil {
		t.Fatalf("encode %T: %v", m, err)
	}
	return data
}
