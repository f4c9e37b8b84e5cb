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
	// failed is told each time the history cannot be read or written.
	failed func()
}

// admit decides whether a health-triggered shutdown may go ahead, and if so
// records it. recent is how many such shutdowns the window already held.
//
// The guard fails closed: a history it cannot read, or a shutdown it cannot
// record, suppresses the shutdown. Failing open would let a supervisor
// restart the node in exactly the loop the guard exists to stop (a
// read-only data directory did: five exits in ten seconds), while a node
// held up stays visibly unhealthy, its readiness 503, and says why.
func (g *guard) admit(reason string) (ok bool, recent int, why string) {
	now := g.now()
	hist, err := g.load(now)
	if err != nil {
		g.fail("read its history", err)
		return false, g.max, whyUncounted
	}
	hist = g.recent(hist, now)
	if g.max > 0 && len(hist) >= g.max {
		return false, len(hist), whyLoop
	}
	recent = len(hist)
	hist = append(hist, guardEntry{Time: now, Reason: reason})
	if len(hist) > maxHistory {
		hist = hist[len(hist)-maxHistory:]
	}
	if g.max > 0 {
		if err := g.save(hist); err != nil {
			g.fail("record this shutdown", err)
			return false, recent, whyUncounted
		}
	}
	return true, recent, ""
}

// Why admit suppressed a shutdown, for the log line that says so.
const (
	whyLoop      = "restart loop"
	whyUncounted = "restart-loop guard cannot keep count"
)

// check loads the history (setting a corrupt one aside) and writes it back,
// so that a guard unable to record is found at start, not at the first
// critical failure.
func (g *guard) check() error {
	if g.path == "" || g.max < 0 {
		return nil
	}
	now := g.now()
	hist, err := g.load(now)
	if err == nil {
		err = g.save(g.recent(hist, now))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", whyUncounted, err)
	}
	return nil
}

func (g *guard) fail(what string, err error) {
	g.log.Error(whyUncounted+": cannot "+what+"; the shutdown is suppressed, as at the limit", "path", g.path, "err", err)
	if g.failed != nil {
		g.failed()
	}
}

// recent keeps the entries within the window of now. An entry far in the
// future (the clock was set back) is dropped rather than counted, or it
// would hold the guard shut until the clock caught up.
func (g *guard) recent(hist []guardEntry, now time.Time) []guardEntry {
	out := make([]guardEntry, 0, len(hist)) // never nil: written as [], not null
	for _, e := range hist {
		if age := now.Sub(e.Time); age < g.window && age > -g.window {
			out = append(out, e)
		}
	}
	return out
}

// load reads the history. A missing file is an empty history; one that
// cannot be read is an error.
//
// A corrupt one is kept aside as <file>.corrupt-<time> for the operator and
// replaced by a history at the limit, dated now: the count it held is
// unknown, and an unknown count must not let a restart loop run (treating
// it as empty would allow three more), so the next critical failure within
// the window is suppressed. If that history cannot be written, the error
// says so and the caller suppresses too.
func (g *guard) load(now time.Time) ([]guardEntry, error) {
	if g.path == "" {
		return g.mem, nil
	}
	data, err := os.ReadFile(g.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var hist []guardEntry
	perr := json.Unmarshal(data, &hist)
	if perr == nil {
		return hist, nil
	}
	aside := fmt.Sprintf("%s.corrupt-%s", g.path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(g.path, aside); err != nil {
		return nil, fmt.Errorf("history %s corrupt (%v) and cannot be set aside: %w", g.path, perr, err)
	}
	g.log.Warn("restart-loop guard history corrupt; kept aside and counted as the limit",
		"path", g.path, "kept_as", aside, "err", perr)
	if g.failed != nil {
		g.failed()
	}
	hist = make([]guardEntry, max(g.max, 1))
	for i := range hist {
		hist[i] = guardEntry{Time: now, Reason: "history corrupt: counted as the limit"}
	}
	if err := g.save(hist); err != nil {
		return nil, err
	}
	return hist, nil
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
