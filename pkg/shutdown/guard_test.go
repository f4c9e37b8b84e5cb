package shutdown

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeClock is the guard's wall clock, moved by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// process stands for one run of the node: a fresh Manager on the shared
// data directory, as after a supervisor's restart.
func process(t *testing.T, dir string, clock *fakeClock) fixture {
	t.Helper()
	return newFixture(t, Config{DataDir: dir, Now: clock.Now})
}

func TestRestartLoopGuardKeepsTheFourthCriticalFailureUp(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()

	for i := range 3 {
		p := process(t, dir, clock)
		if !p.m.HandleCritical("critical check pubsub-roundtrip: no ack") {
			t.Fatalf("critical failure %d within the limit was suppressed", i+1)
		}
		if code, _ := p.m.Wait(); code != ExitCritical {
			t.Fatalf("run %d exited %d, want %d", i+1, code, ExitCritical)
		}
		clock.Advance(4 * time.Minute)
	}

	// 12 minutes after the first: three within 15 minutes.
	p := process(t, dir, clock)
	if p.m.HandleCritical("critical check pubsub-roundtrip: no ack") {
		t.Fatal("fourth critical failure within the window shut the node down")
	}
	select {
	case <-p.m.Done():
		t.Fatal("a suppressed shutdown ran anyway")
	default:
	}
	if !p.log.Contains("shutdown suppressed: restart loop") {
		t.Errorf("suppression not logged:\n%s", p.log)
	}
	if got := readHistory(t, dir); len(got) != 3 {
		t.Errorf("a suppressed shutdown was recorded: %d entries, want 3", len(got))
	}

	// Once the first shutdown is older than the window, one more is allowed.
	clock.Advance(3*time.Minute + time.Second)
	if !p.m.HandleCritical("critical check pubsub-roundtrip: no ack") {
		t.Fatal("critical failure after the window passed was suppressed")
	}
	if code, _ := p.m.Wait(); code != ExitCritical {
		t.Fatalf("exit code %d, want %d", code, ExitCritical)
	}
}

func TestRestartLoopGuardCountsOnlyTheWindow(t *testing.T) {
	now := newFakeClock().Now()
	ago := func(d time.Duration) guardEntry { return guardEntry{Time: now.Add(-d), Reason: "x"} }
	tests := []struct {
		name  string
		max   int
		hist  []guardEntry
		allow bool
	}{
		{"no history", 3, nil, true},
		{"two recent", 3, []guardEntry{ago(time.Minute), ago(2 * time.Minute)}, true},
		{"three recent", 3, []guardEntry{ago(time.Minute), ago(2 * time.Minute), ago(14 * time.Minute)}, false},
		{"three, one at the window edge", 3, []guardEntry{ago(time.Minute), ago(2 * time.Minute), ago(15 * time.Minute)}, true},
		{"many old ones", 3, []guardEntry{ago(time.Hour), ago(2 * time.Hour), ago(3 * time.Hour), ago(4 * time.Hour)}, true},
		// The clock was set back: entries from "the future" do not hold the guard shut.
		{"entries far in the future", 3, []guardEntry{ago(-time.Hour), ago(-2 * time.Hour), ago(-3 * time.Hour)}, true},
		{"limit of one", 1, []guardEntry{ago(time.Minute)}, false},
		{"disabled", -1, []guardEntry{ago(time.Minute), ago(time.Minute), ago(time.Minute)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &guard{max: tt.max, window: 15 * time.Minute, now: func() time.Time { return now }, mem: tt.hist}
			if ok, _, _ := g.admit("critical"); ok != tt.allow {
				t.Fatalf("admit = %v, want %v", ok, tt.allow)
			}
		})
	}
}

func TestCorruptGuardFileIsKeptAsideAndCountsAsTheLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, GuardFile)
	corrupt := []byte(`[{"time": "yesterday", "rea`)
	if err := os.WriteFile(path, corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	p := process(t, dir, clock)
	// Its count is unknown: counting it as empty would allow a loop of
	// three more, so the critical failure is suppressed.
	if p.m.HandleCritical("critical check dht-integrity: bad signature") {
		t.Fatal("a corrupt history let the shutdown through")
	}
	if !p.log.Contains("history corrupt") {
		t.Errorf("corrupt history not logged:\n%s", p.log)
	}
	if got := testutil.ToFloat64(p.m.metrics.guardErrors); got != 1 {
		t.Errorf("meshhealth_shutdown_guard_errors_total = %v, want 1", got)
	}
	kept, _ := filepath.Glob(path + ".corrupt-*")
	if len(kept) != 1 {
		t.Fatalf("corrupt file not kept aside: %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != string(corrupt) {
		t.Errorf("kept-aside file holds %q, want the corrupt original", b)
	}

	// The conservative count survives a restart, and ends with the window.
	p = process(t, dir, clock)
	if p.m.HandleCritical("critical check dht-integrity: bad signature") {
		t.Fatal("after a restart the corrupt history's limit was forgotten")
	}
	clock.Advance(DefaultGuardWindow)
	if !p.m.HandleCritical("critical check dht-integrity: bad signature") {
		t.Fatal("the corrupt history still suppresses a window later")
	}
	waitDone(t, p.m)
}

func TestCheckGuardFailsWhenTheHistoryCannotBeWritten(t *testing.T) {
	// A file where the data directory should be: nothing can be recorded.
	dir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := process(t, dir, newFakeClock())
	if err := p.m.CheckGuard(); err == nil || !strings.Contains(err.Error(), "cannot keep count") {
		t.Fatalf("CheckGuard() = %v, want a cannot-keep-count error", err)
	}

	ok := process(t, t.TempDir(), newFakeClock())
	if err := ok.m.CheckGuard(); err != nil {
		t.Fatalf("CheckGuard() on a writable directory = %v", err)
	}
}

func TestGuardFileIsPrivateAndWrittenWithoutLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-yet-created")
	p := process(t, dir, newFakeClock())
	p.m.HandleCritical("critical check p2p-connectivity: 0 peers")
	waitDone(t, p.m)

	st, err := os.Stat(filepath.Join(dir, GuardFile))
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("guard file mode %o, want 600", mode)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data dir holds %d files, want only %s: %v", len(entries), GuardFile, entries)
	}
}

func TestUnwritableGuardSuppressesTheShutdownAndSaysSo(t *testing.T) {
	// A file where the data directory should be: the history cannot be
	// written. Exiting anyway would let a supervisor restart the node in
	// the very loop the guard is there to stop.
	dir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := process(t, dir, newFakeClock())
	if p.m.HandleCritical("critical check x: down") {
		t.Fatal("a shutdown the guard could not record went ahead")
	}
	if !p.log.Contains("shutdown suppressed: restart-loop guard cannot keep count") {
		t.Errorf("write failure not logged:\n%s", p.log)
	}
	if got := testutil.ToFloat64(p.m.metrics.guardErrors); got != 1 {
		t.Errorf("meshhealth_shutdown_guard_errors_total = %v, want 1", got)
	}
	// A signal still stops the node.
	if !p.m.Shutdown("signal: SIGTERM", ExitOK) {
		t.Fatal("shutdown refused after a suppressed critical failure")
	}
	waitDone(t, p.m)
}

func readHistory(t *testing.T, dir string) []guardEntry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, GuardFile))
	if err != nil {
		t.Fatal(err)
	}
	var hist []guardEntry
	if err := json.Unmarshal(data, &hist); err != nil {
		t.Fatalf("guard file is not valid JSON: %v\n%s", err, data)
	}
	return hist
}
