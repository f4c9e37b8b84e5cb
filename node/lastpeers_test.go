package node

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestLastPeersSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	a := ma.StringCast("/ip4/198.18.0.3/tcp/4001")
	if err := saveLastPeers(dir, []peer.AddrInfo{{ID: id, Addrs: []ma.Multiaddr{a}}}); err != nil {
		t.Fatal(err)
	}
	got, err := loadLastPeers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != id || len(got[0].Addrs) != 1 || !got[0].Addrs[0].Equal(a) {
		t.Fatalf("read back %v", got)
	}
	// Nothing learned (a node that lost every link) keeps the old list.
	if err := saveLastPeers(dir, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := loadLastPeers(dir); len(got) != 1 {
		t.Fatalf("an empty save replaced the list: %v", got)
	}
}

func TestAnUnreadableLastPeersFileIsAnErrorNotAPanic(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LastPeersFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadLastPeers(dir); err == nil {
		t.Fatal("a truncated file read without error")
	}
	if got, err := loadLastPeers(t.TempDir()); err != nil || got != nil {
		t.Fatalf("a missing file: %v, %v", got, err)
	}
}

// FuzzDecodeLastPeers: the file is read back at start from the data
// directory; whatever it holds, the reader neither panics nor returns a
// peer without an address or beyond its bounds.
func FuzzDecodeLastPeers(f *testing.F) {
	f.Add([]byte(`{"peers":[{"id":"12D3KooWCR2EoapJjoQVR4E3NLjWn818gG3XizQ92Yx6C424HL2g","addrs":["/ip4/127.0.0.1/tcp/1"]}]}`))
	f.Add([]byte(`{"peers":[{"id":"x","addrs":["nope"]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ais, err := decodeLastPeers(b)
		if err != nil {
			return
		}
		if len(ais) > lastPeersMax {
			t.Fatalf("%d peers", len(ais))
		}
		for _, ai := range ais {
			if len(ai.Addrs) == 0 || len(ai.Addrs) > lastPeersMaxAddrs {
				t.Fatalf("peer %s with %d addresses", ai.ID, len(ai.Addrs))
			}
		}
	})
}
