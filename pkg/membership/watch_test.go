package membership

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func writeList(t *testing.T, path string, ids ...peer.ID) {
	t.Helper()
	if err := os.WriteFile(path, NewList(ids...).Format(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A member taken off the list stops being admitted within one reload
// interval; a bad edit leaves the list in force alone.
func TestWatchFollowsTheFileAndIgnoresBadEdits(t *testing.T) {
	a, b := newID(t), newID(t)
	path := filepath.Join(t.TempDir(), "allow-list")
	writeList(t, path, a, b)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var m Members
		changed := 0
		m.OnChange(func() { changed++ })
		w, err := NewWatcher(path, ReloadInterval, &m, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if !m.Admit(a) || !m.Admit(b) || changed != 1 {
			t.Fatalf("first list not in force: a %v b %v changes %d", m.Admit(a), m.Admit(b), changed)
		}
		go w.Run(ctx)

		writeList(t, path, a)
		time.Sleep(ReloadInterval + time.Millisecond)
		synctest.Wait()
		if m.Admit(b) || !m.Admit(a) || changed != 2 {
			t.Fatalf("after b's removal: a %v b %v changes %d", m.Admit(a), m.Admit(b), changed)
		}

		if err := os.WriteFile(path, []byte("garbage\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * ReloadInterval)
		synctest.Wait()
		if !m.Admit(a) || changed != 2 {
			t.Fatalf("a bad edit changed the list in force: a %v changes %d", m.Admit(a), changed)
		}
		cancel()
	})
}

func TestValidateNamesTheFileAndEachBadLine(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	writeList(t, good, newID(t))
	if err := os.WriteFile(bad, []byte("x\ny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("off: %v", err)
	}
	if err := (Config{AllowList: good}).Validate(); err != nil {
		t.Errorf("good list: %v", err)
	}
	for path, want := range map[string]int{bad: 2, filepath.Join(dir, "missing"): 1} {
		err := Config{AllowList: path}.Validate()
		if err == nil {
			t.Fatalf("%s accepted", path)
		}
		if lines := strings.Split(err.Error(), "\n"); len(lines) != want || !strings.Contains(lines[0], path) {
			t.Errorf("%s: %q, want %d lines naming the file", path, lines, want)
		}
	}
}
