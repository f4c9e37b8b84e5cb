package p2p

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func mustID(t *testing.T, k crypto.PrivKey) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestIdentityKeepsPeerIDAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	first, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.Type() != crypto.Ed25519 {
		t.Errorf("key type %v, want Ed25519", first.Type())
	}
	again, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustID(t, first), mustID(t, again); a != b {
		t.Fatalf("peer ID changed across restarts: %s then %s", a, b)
	}
	info, err := os.Stat(filepath.Join(dir, IdentityFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the key (no temporary files)", len(entries))
	}
}

func TestIdentityNodesStartingTogetherAgreeOnOneKey(t *testing.T) {
	dir := t.TempDir()
	ids := make([]peer.ID, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := LoadOrCreateIdentity(dir)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = mustID(t, k)
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent starts produced different identities: %v", ids)
		}
	}
}

func TestIdentityRefusesKeyReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateIdentity(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, IdentityFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateIdentity(dir)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadOrCreateIdentity on a 0644 key = %v, want a refusal telling to chmod 600", err)
	}
}

func TestIdentityRefusesCorruptKeyRatherThanReplacingIt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, IdentityFile)
	garbage := []byte("not a key")
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(dir); err == nil {
		t.Fatal("LoadOrCreateIdentity accepted a corrupt key file")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, garbage) {
		t.Fatal("the corrupt key file was replaced; the peer ID would have changed silently")
	}
}

func TestWriteFileAtomicLeavesNothingBehindOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, IdentityFile)
	boom := errors.New("disk full")
	err := writeFileAtomic(path, 0o600, func(w io.Writer) error {
		w.Write([]byte("half a k"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("writeFileAtomic = %v, want the write error", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("a failed write left %v behind", entries)
	}
}

func TestWriteFileAtomicNeverReplacesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, IdentityFile)
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := writeFileAtomic(path, 0o600, func(w io.Writer) error {
		_, err := w.Write([]byte("new"))
		return err
	})
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("writeFileAtomic over an existing file = %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("existing file now holds %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary file left behind: %v", entries)
	}
}
