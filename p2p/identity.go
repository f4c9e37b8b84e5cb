package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// IdentityFile is the name of the key file inside the data directory.
const IdentityFile = "identity.key"

// LoadOrCreateIdentity returns the node's Ed25519 key from
// <dir>/identity.key, creating the directory and the key on first start.
//
// The file is written atomically (temporary file, fsync, link into place), so
// a crash never leaves a partial key that would change the peer ID, and two
// nodes started at once on one directory end up with the same key. A key
// file readable by group or others is refused, as ssh refuses such keys: the
// key is the node's identity in the mesh.
func LoadOrCreateIdentity(dir string) (crypto.PrivKey, error) {
	if dir == "" {
		return nil, errors.New("identity: no data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity: create data directory: %w", err)
	}
	path := filepath.Join(dir, IdentityFile)
	key, err := loadIdentity(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, _, err = crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: generate key: %w", err)
	}
	raw, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("identity: encode key: %w", err)
	}
	err = writeFileAtomic(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(raw)
		return err
	})
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: its key is the node's identity.
		return loadIdentity(path)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return key, nil
}

func loadIdentity(path string) (crypto.PrivKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("identity: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("identity: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("identity: %s has mode %04o, readable by others; run chmod 600 on it", path, perm)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	key, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		// Never replace it: a new key would silently change the peer ID.
		return nil, fmt.Errorf("identity: %s is not a libp2p private key (move it away to create a new identity): %w", path, err)
	}
	return key, nil
}

// writeFileAtomic creates path with the content write produces, or leaves
// nothing behind. It never replaces an existing file: it reports
// fs.ErrExist instead.
func writeFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
		}
		// The temporary name goes in every case: after a link it is a
		// second name of the new file.
		os.Remove(tmp.Name())
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	// A link fails if path exists, where a rename would replace it.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, fs.ErrExist)
		}
		// Some file systems have no hard links; rename is still atomic.
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("rename to %s: %w", path, err)
		}
	}
	syncDir(dir)
	return nil
}

// syncDir makes the new directory entry durable. Best effort: some
// platforms cannot fsync a directory, and the file itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}
