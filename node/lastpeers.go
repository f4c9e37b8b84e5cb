package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// LastPeersFile, in the data directory, holds the addresses of the peers
// the node was last connected to, so that a restart, or a recovery after
// its links broke, can rejoin the mesh without mDNS or a bootstrap list.
const LastPeersFile = "last-peers.json"

// lastPeersMax bounds what is kept, and what is read back.
const (
	lastPeersMax      = 32
	lastPeersMaxAddrs = 8
	lastPeersMaxBytes = 64 << 10
)

type lastPeersDoc struct {
	Peers []lastPeer `json:"peers"`
}

type lastPeer struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
}

// saveLastPeers writes ais to dir's LastPeersFile, atomically (a crash
// mid-write leaves the previous list).
func saveLastPeers(dir string, ais []peer.AddrInfo) error {
	if dir == "" || len(ais) == 0 {
		return nil // nothing learned: keep what a previous run knew
	}
	doc := lastPeersDoc{Peers: []lastPeer{}}
	for _, ai := range ais[:min(len(ais), lastPeersMax)] {
		p := lastPeer{ID: ai.ID.String()}
		for _, a := range ai.Addrs[:min(len(ai.Addrs), lastPeersMaxAddrs)] {
			p.Addrs = append(p.Addrs, a.String())
		}
		doc.Peers = append(doc.Peers, p)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, LastPeersFile+".*")
	if err != nil {
		return fmt.Errorf("last peers: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("last peers: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("last peers: %w", err)
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, LastPeersFile))
}

// loadLastPeers reads dir's LastPeersFile; a missing file is no peers.
func loadLastPeers(dir string) ([]peer.AddrInfo, error) {
	if dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, LastPeersFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last peers: %w", err)
	}
	return decodeLastPeers(b)
}

// decodeLastPeers parses the file, skipping entries it cannot read: the
// list is a hint, and one bad entry must not cost the others.
func decodeLastPeers(b []byte) ([]peer.AddrInfo, error) {
	if len(b) > lastPeersMaxBytes {
		return nil, fmt.Errorf("last peers: %d bytes, at most %d", len(b), lastPeersMaxBytes)
	}
	var doc lastPeersDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("last peers: %w", err)
	}
	var out []peer.AddrInfo
	for _, p := range doc.Peers[:min(len(doc.Peers), lastPeersMax)] {
		id, err := peer.Decode(p.ID)
		if err != nil {
			continue
		}
		ai := peer.AddrInfo{ID: id}
		for _, s := range p.Addrs[:min(len(p.Addrs), lastPeersMaxAddrs)] {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		if len(ai.Addrs) > 0 {
			out = append(out, ai)
		}
	}
	return out, nil
}
