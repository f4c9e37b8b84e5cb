package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile, inside the data directory, is held (flock) by the node that
// uses the directory, and names its pid.
const LockFile = "lock"

// lockDataDir creates the data directory if need be and takes its lock, so
// that a second node on the same directory (the same identity key, the
// same peer ID: the mesh would see one peer flapping between two hosts)
// fails at start, naming the holder. The kernel drops the lock when the
// process ends, however it ends, so a crash leaves no stale lock behind.
// release unlocks and closes; the process exiting does the same.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data-dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data-dir %s: lock: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
					holder = fmt.Sprintf("another meshhealth (pid %d)", pid)
				}
			}
			return nil, fmt.Errorf("data-dir %s is in use by %s: give each node its own --data-dir", dir, holder)
		}
		return nil, fmt.Errorf("data-dir %s: lock %s: %w", dir, path, err)
	}
	// Ours now: say who holds it.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// checkWritable fails unless files can be created in dir. The identity key,
// the restart-loop guard's history and the fault token are written there;
// a guard that cannot record lets a supervisor restart the node in a loop,
// so a read-only directory is a start-up error, not a surprise at the
// first critical failure.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data-dir %s is not writable: %w", dir, unwrapPathError(err))
	}
	name := f.Name()
	_, werr := f.Write([]byte("ok\n"))
	err = errors.Join(werr, f.Sync(), f.Close())
	os.Remove(name)
	if err != nil {
		return fmt.Errorf("data-dir %s is not writable: %w", dir, unwrapPathError(err))
	}
	return nil
}

// unwrapPathError drops the *PathError's operation and path (a temp file's
// name is noise in a message that already names the directory).
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
