package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecondLockOnADataDirFailsNamingTheHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node0")
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file, so a second open in this
	// process conflicts just as another process would.
	_, err = lockDataDir(dir)
	want := fmt.Sprintf("in use by another meshhealth (pid %d)", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second lock: %v; want an error containing %q", err, want)
	}
	release()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}

func TestDataDirThatCannotBeWrittenIsAStartUpError(t *testing.T) {
	// A file where the directory should be (root ignores permission bits,
	// so a read-only mode would not stop a test run as root).
	dir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkWritable(dir); err == nil || !strings.Contains(err.Error(), "is not writable") {
		t.Fatalf("checkWritable = %v", err)
	}
	if err := checkWritable(t.TempDir()); err != nil {
		t.Fatalf("checkWritable on a fresh directory = %v", err)
	}
}
