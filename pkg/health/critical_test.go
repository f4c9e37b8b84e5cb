package health

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

// fakeShutdown records hand-offs and answers with stop.
type fakeShutdown struct {
	mu      sync.Mutex
	reasons []string
	stop    bool
}

func (f *fakeShutdown) HandleCritical(reason string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reasons = append(f.reasons, reason)
	return f.stop
}

func (f *fakeShutdown) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reasons)
}

// criticalSetup registers a critical p2p check (interval 5s, timeout 1s,
// threshold 3) and starts the manager.
func criticalSetup(t *testing.T, cfg Config, healthy bool, sd *fakeShutdown) (*Manager, *toggle) {
	m, _ := newManager(t, cfg)
	tg := newToggle(healthy)
	tg.set(healthy, "0 peers < min 1")
	mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Critical: true,
		Interval: 5 * time.Second, Timeout: time.Second, Checker: tg.check})
	m.SetCriticalHandler(sd)
	start(t, m)
	return m, tg
}

func TestCriticalHandOffOncePerEpisodeAfterThreshold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sd := &fakeShutdown{stop: true}
		m, tg := criticalSetup(t, testConfig(), true, sd)
		defer m.Stop()
		advance(31 * time.Second)

		tg.set(false, "0 peers < min 1")
		advance(4 * time.Second) // t=35: first failure
		advance(500 * time.Millisecond)
		if got := sd.calls(); len(got) != 0 {
			t.Fatalf("after 2 failures: hand-off called %v, want not yet", got)
		}
		advance(500 * time.Millisecond) // third failure confirms
		want := []string{"critical check p2p-connectivity: 0 peers < min 1"}
		if got := sd.calls(); !slices.Equal(got, want) {
			t.Fatalf("after confirmation: hand-off calls %q, want %q", got, want)
		}
		advance(time.Minute)
		if got := sd.calls(); len(got) != 1 {
			t.Fatalf("a long failure episode handed off %d times, want once", len(got))
		}

		tg.set(true, "")
		advance(5 * time.Second)
		tg.set(false, "0 peers < min 1")
		advance(6 * time.Second)
		if got := sd.calls(); len(got) != 2 {
			t.Fatalf("a second episode: %d hand-offs in all, want 2", len(got))
		}
	})
}

func TestCriticalHandOffWaitsForStartupGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sd := &fakeShutdown{stop: true}
		m, _ := criticalSetup(t, graceConfig(), false, sd)
		defer m.Stop()
		advance(2 * time.Second)
		// Failing from the first run, within the grace: "not up yet", not
		// evidence (warm-up), so the node is still starting.
		if st := m.Status(); st != StatusStarting {
			t.Fatalf("a check that has never passed, within the grace: %s, want starting", st)
		}
		advance(27 * time.Second)
		if got := sd.calls(); len(got) != 0 {
			t.Fatalf("within the startup grace: hand-off called %v, want never", got)
		}
		advance(3 * time.Second) // the grace ends; three counted failures confirm
		if st := m.Status(); st != StatusUnhealthy {
			t.Fatalf("grace over, still failing: %s, want unhealthy", st)
		}
		if got := sd.calls(); len(got) != 1 {
			t.Fatalf("grace over, still failing: %d hand-offs, want 1", len(got))
		}
	})
}

func TestCriticalHandOffOffDoesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.ShutdownOnCritical = false
		sd := &fakeShutdown{stop: true}
		m, _ := criticalSetup(t, cfg, false, sd)
		defer m.Stop()
		advance(time.Minute)
		if got := sd.calls(); len(got) != 0 || m.Status() != StatusUnhealthy {
			t.Fatalf("shutdown_on_critical off: %d hand-offs, status %s; want none, unhealthy", len(got), m.Status())
		}
	})
}

func TestSuppressedShutdownKeepsNodeUpAndSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.StartupGrace = 0
		sd := &fakeShutdown{stop: false} // the restart-loop guard declines
		m, tg := criticalSetup(t, cfg, false, sd)
		defer m.Stop()
		advance(2 * time.Second)
		snap := m.Snapshot()
		if len(sd.calls()) != 1 || snap.Status != StatusUnhealthy || snap.Message != "shutdown suppressed: restart loop" {
			t.Fatalf("declined hand-off: %d calls, %s %q; want 1 call, unhealthy 'shutdown suppressed: restart loop'",
				len(sd.calls()), snap.Status, snap.Message)
		}
		if got := testutil.ToFloat64(m.metrics.suppressed); got != 1 {
			t.Errorf("meshhealth_shutdown_suppressed = %v, want 1", got)
		}
		tg.set(true, "")
		advance(5 * time.Second)
		// The outage is over: its three confirming failures cost the score
		// 3/20 (0.9625 in all), which is still healthy, and the suppression
		// is lifted.
		if got, snap := testutil.ToFloat64(m.metrics.suppressed), m.Snapshot(); got != 0 || snap.Status != StatusHealthy {
			t.Errorf("after recovery: suppressed = %v, status %s %q; want 0, healthy", got, snap.Status, snap.Message)
		}
	})
}

func TestStoppingIsImmediateAndEndsHandOffs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.StartupGrace = 0
		sd := &fakeShutdown{stop: true}
		m, tg := criticalSetup(t, cfg, true, sd)
		defer m.Stop()
		synctest.Wait()
		m.SetStopping("SIGTERM")
		snap := m.Snapshot()
		if snap.Status != StatusStopping || snap.Message != "stopping: SIGTERM" {
			t.Fatalf("after SetStopping: %s %q", snap.Status, snap.Message)
		}
		for _, path := range []string{"/health", "/health/ready", "/health/live"} {
			if rec, _ := get(t, m.Handler(), path); rec.Code != 503 {
				t.Errorf("%s while stopping = %d, want 503", path, rec.Code)
			}
		}
		tg.set(false, "peers gone during shutdown")
		advance(10 * time.Second)
		if got := sd.calls(); len(got) != 0 {
			t.Errorf("failures while stopping handed off: %v", got)
		}
	})
}

// A pause of the whole process (SIGSTOP, a VM pause): both the scheduler
// and the watchdog miss their ticks. The results that aged meanwhile are
// not a verdict: the manager re-runs every check and judges fresh results,
// and the failures just after the pause are not counted.
func TestResultsThatWentStaleWhileThisProcessWasPausedAreNotJudged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sd := &fakeShutdown{stop: true}
		m, tg := criticalSetup(t, testConfig(), true, sd)
		defer m.Stop()
		advance(31 * time.Second)
		if st := m.Status(); st != StatusHealthy {
			t.Fatalf("before the pause: %s", st)
		}
		// Resuming after 40 s in which no goroutine of this process ran:
		// the first to refresh (here a check completing on waking) sees a
		// result far older than its staleness limit (2 x 5 s + 1 s).
		tg.set(false, "connections dropped during the pause")
		// The awareness is a core the test feeds: its ticker last ran 40 s
		// ago and has just ticked again.
		aw := awareness.NewCore(0)
		aw.Tick(time.Now().Add(-40 * time.Second))
		aw.Tick(time.Now())
		aw.Stop() // nothing is in progress any more
		m.mu.Lock()
		m.core.self = aw
		m.core.refresh(time.Now())
		m.applyLocked()
		snap := m.Snapshot()
		m.mu.Unlock()
		if v := snap.Checks["p2p-connectivity"]; v.Stale || v.State == StateFailing {
			t.Fatalf("after the pause: stale=%v state=%s (%s); want the old result not judged", v.Stale, v.State, v.Message)
		}
		// Every check is re-run at once; its failures during the resume
		// grace are shown but not counted.
		advance(3 * time.Second)
		if got := sd.calls(); len(got) != 0 {
			for _, r := range m.Snapshot().History("p2p-connectivity") {
				t.Logf("%s %s %q", r.Timestamp.Format("05.000"), r.Result, r.Message)
			}
			t.Fatalf("hand-off after a pause: %v", got)
		}
		h := m.Snapshot().History("p2p-connectivity")
		if last := h[len(h)-1]; last.Result != outcomeWarmup || !strings.Contains(last.Message, "resuming after a pause") {
			t.Fatalf("first result after the pause: %s %q", last.Result, last.Message)
		}
		// Past the grace, a failure that persists counts as usual.
		advance(15 * time.Second)
		if got := sd.calls(); len(got) != 1 {
			t.Fatalf("a failure that outlives the resume grace: hand-offs %v, want one", got)
		}
	})
}
