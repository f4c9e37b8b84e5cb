package shutdown

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// maxHistory caps the guard file; only the last GuardWindow matters, and a
// file that grows without end is a problem of its own.
const maxHistory = 100

// guardEntry is one health-triggered shutdown in the guard's history.
type guardEntry struct {
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
}

// guard is the restart-loop guard: it remembers recent health-triggered
// shutdowns, in a file that outlives the process when path is set.
type guard struct {
	path   string // "" keeps the history in mem only
	max    int    // < 0 disables the guard
	window time.Duration
	now    func() time.Time
	log    *slog.Logger
	mem    []guardEntry
}

// admit decides whether a health-triggered shutdown may go ahead, and if so
// records it. recent is how many such shutdowns the window already held.
//
// If the history cannot be written the shutdown still goes ahead (fail
// open): a real critical failure outweighs a guard that cannot keep count.
func (g *guard) admit(reason string) (ok bool, recent int) {
	now := g.now()
	hist := g.recent(g.load(), now)
	if g.max > 0 && len(hist) >= g.max {
		return false, len(hist)
	}
	recent = len(hist)
	hist = append(hist, guardEntry{Time: now, Reason: reason})
	if len(hist) > maxHistory {
		hist = hist[len(hist)-maxHistory:]
	}
	if err := g.save(hist); err != nil {
		g.log.Error("restart-loop guard cannot record this shutdown; it will not count toward the limit",
			"path", g.path, "err", err)
	}
	return true, recent
}

// recent keeps the entries within the window of now. An entry far in the
// future (the clock was set back) is dropped rather than counted, or it
// would hold the guard shut until the clock caught up.
func (g *guard) recent(hist []guardEntry, now time.Time) []guardEntry {
	out := hist[:0:0]
	for _, e := range hist {
		if age := now.Sub(e.Time); age < g.window && age > -g.window {
			out = append(out, e)
		}
	}
	return out
}

// load reads the history. A missing file is an empty history; an
// unreadable or corrupt one is logged and treated as empty, never a crash:
// the guard exists to keep the node up, not to bring it down.
func (g *guard) load() []guardEntry {
	if g.path == "" {
		return g.mem
	}
	data, err := os.ReadFile(g.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		g.log.Warn("restart-loop guard history unreadable; treating it as empty", "path", g.path, "err", err)
		return nil
	}
	var hist []guardEntry
	if err := json.Unmarshal(data, &hist); err != nil {
		g.log.Warn("restart-loop guard history corrupt; treating it as empty", "path", g.path, "err", err)
		return nil
	}
	return hist
}

func (g *guard) save(hist []guardEntry) error {
	if g.path == "" {
		g.mem = hist
		return nil
	}
	data, err := json.MarshalIndent(hist, "", "  ")
	if err != nil {
		return fmt.Errorf("encode shutdown history: %w", err)
	}
	return writeFileAtomic(g.path, append(data, '\n'), 0o600)
}

// writeFileAtomic replaces path with data so that a crash at any moment
// leaves either the old file or the new one, never a torn one: write a temp
// file in the same directory, fsync it, rename it over path, fsync the
// directory.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, path, err)
	}
	// The rename is durable only once the directory is; some platforms
	// cannot fsync a directory, and the file is already in place, so this
	// is best effort.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
