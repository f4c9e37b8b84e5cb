package health

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

func TestFailureIsConfirmedByRetriesNotIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "c", Component: "p2p", Interval: 10 * time.Second, Timeout: time.Second, Checker: tg.check})
		start(t, m)
		defer m.Stop()
		synctest.Wait()
		if v := checkView(t, m, "c"); v.State != StatePassing || tg.calls.Load() != 1 {
			t.Fatalf("after the first run: state %s, %d calls; want passing after 1", v.State, tg.calls.Load())
		}

		tg.set(false, "down")
		advance(10 * time.Second) // t=10s: first failure
		steps := []struct {
			after     time.Duration
			calls     int64
			fails     int
			state     State
			situation string
		}{
			{0, 2, 1, StatePassing, "one failure is not enough"},
			{499 * time.Millisecond, 2, 1, StatePassing, "no re-run before the retry interval"},
			{time.Millisecond, 3, 2, StatePassing, "re-run 500ms after the failure, not after the interval"},
			{500 * time.Millisecond, 4, 3, StateFailing, "third consecutive failure confirms"},
			{9 * time.Second, 4, 3, StateFailing, "once failing, back to the interval"},
			{time.Second, 5, 4, StateFailing, "next run one interval after confirmation"},
		}
		for _, s := range steps {
			advance(s.after)
			v := checkView(t, m, "c")
			if got := tg.calls.Load(); got != s.calls || v.ConsecutiveFailures != s.fails || v.State != s.state {
				t.Fatalf("%s: %d calls, %d consecutive failures, %s; want %d, %d, %s",
					s.situation, got, v.ConsecutiveFailures, v.State, s.calls, s.fails, s.state)
			}
		}
		if st := m.Status(); st != StatusDegraded {
			t.Errorf("status with a non-critical check failing = %s, want degraded", st)
		}
	})
}

func TestRecoveryNeedsSuccessThresholdConsecutiveSuccesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		tg := newToggle(false)
		mustRegister(t, m, Check{Name: "c", Component: "p2p", Interval: 10 * time.Second, Timeout: time.Second,
			FailureThreshold: 1, SuccessThreshold: 2, Checker: tg.check})
		start(t, m)
		defer m.Stop()
		synctest.Wait()
		if v := checkView(t, m, "c"); v.State != StateFailing {
			t.Fatalf("with threshold 1, one failure: %s, want failing", v.State)
		}
		tg.set(true, "back")
		advance(10 * time.Second)
		if v := checkView(t, m, "c"); v.State != StateFailing || v.ConsecutiveSuccesses != 1 || !v.Healthy {
			t.Fatalf("after one success: %s with %d successes, want still failing after 1", v.State, v.ConsecutiveSuccesses)
		}
		if v := checkView(t, m, "c"); v.Score != 0 {
			t.Errorf("score while failing = %v, want 0", v.Score)
		}
		advance(10 * time.Second)
		if v := checkView(t, m, "c"); v.State != StatePassing {
			t.Fatalf("after two successes: %s, want passing", v.State)
		}
	})
}

func TestTriggerRunsACheckEarlyAndCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "c", Component: "p2p", Interval: time.Minute, Timeout: time.Second, Checker: tg.check})
		start(t, m)
		defer m.Stop()
		synctest.Wait()
		advance(5 * time.Second)
		m.Trigger("c")
		m.Trigger("c")
		m.Trigger("c")
		m.Trigger("no-such-check") // ignored
		synctest.Wait()
		if got := tg.calls.Load(); got != 2 {
			t.Fatalf("calls after three triggers = %d, want 2 (the first run and one coalesced early run)", got)
		}
	})
}

func TestStartupGraceHoldsStartingUntilFirstResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, graceConfig())
		slow := func(ctx context.Context) Result {
			select {
			case <-time.After(time.Second):
				return Result{Healthy: true, Message: "took a second"}
			case <-ctx.Done():
				return Result{Err: ctx.Err()}
			}
		}
		mustRegister(t, m, Check{Name: "fast", Component: "p2p", Checker: newToggle(true).check})
		mustRegister(t, m, Check{Name: "slow", Component: "dht", Interval: 30 * time.Second, Timeout: 5 * time.Second,
			LatencySLO: 2 * time.Second, Checker: slow})
		if st := m.Status(); st != StatusStarting {
			t.Fatalf("before Start: %s, want starting", st)
		}
		start(t, m)
		defer m.Stop()
		advance(500 * time.Millisecond)
		snap := m.Snapshot()
		if snap.Status != StatusStarting || snap.Message != "starting: waiting for the first result of slow" {
			t.Fatalf("with slow's first run in progress: %s %q, want starting waiting for slow", snap.Status, snap.Message)
		}
		advance(500 * time.Millisecond)
		if st := m.Status(); st != StatusHealthy {
			t.Fatalf("with every first result in: %s, want healthy", st)
		}
	})
}

func TestMissingResultCountsAsFailureAfterStartupGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, graceConfig())
		start(t, m)
		defer m.Stop()
		m.StallFor(time.Hour) // the scheduler never runs the check
		synctest.Wait()
		mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Critical: true, Checker: newToggle(true).check})
		advance(29 * time.Second)
		if st := m.Status(); st != StatusStarting {
			t.Fatalf("within the grace: %s, want starting", st)
		}
		advance(time.Second)
		snap := m.Snapshot()
		v := snap.Checks["p2p-connectivity"]
		if snap.Status != StatusUnhealthy || v.State != StateFailing || !strings.Contains(v.Message, "no result within the startup grace") {
			t.Fatalf("after the grace: %s (%q), check %s %q; want unhealthy, failing for want of a result",
				snap.Status, snap.Message, v.State, v.Message)
		}
		m.StallFor(0)
		synctest.Wait()
		if st := m.Status(); st != StatusHealthy {
			t.Fatalf("once the scheduler runs the check: %s, want healthy", st)
		}
	})
}

func TestPanickingCheckerIsAFailedResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reg := newManager(t, testConfig())
		mustRegister(t, m, Check{Name: "boom", Component: "election", FailureThreshold: 1,
			Checker: func(context.Context) Result { panic("boom") }})
		ok := newToggle(true)
		mustRegister(t, m, Check{Name: "ok", Component: "p2p", Interval: time.Second, Timeout: time.Second, Checker: ok.check})
		start(t, m)
		defer m.Stop()
		advance(3 * time.Second)
		v := checkView(t, m, "boom")
		if v.Healthy || v.State != StateFailing || v.Message != "panic: boom" || !strings.Contains(v.Error, "panicked: boom") {
			t.Fatalf("panicking check: %+v", v)
		}
		if got := testutil.ToFloat64(m.metrics.checksTotal.WithLabelValues("boom", "panic")); got != 1 {
			t.Errorf("checks_total{result=panic} = %v, want 1", got)
		}
		if ok.calls.Load() != 4 {
			t.Errorf("the other check ran %d times in 3s, want 4: the manager must keep going", ok.calls.Load())
		}
		_ = reg
	})
}

func TestCheckerIgnoringItsContextIsAbandonedNotPiledUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		b := newBlocker()
		mustRegister(t, m, Check{Name: "hung", Component: "dht", Critical: true, Interval: 10 * time.Second, Timeout: time.Second, Checker: b.check})
		start(t, m)
		defer m.Stop()
		defer b.free()
		synctest.Wait()
		<-b.entered

		advance(time.Second + abandonGrace)
		v := checkView(t, m, "hung")
		if v.Healthy || v.Message != "timed out after 1s, abandoned" || v.ConsecutiveFailures != 1 {
			t.Fatalf("at the timeout: %+v; want a failed result 'timed out after 1s, abandoned'", v)
		}
		advance(time.Second)
		v = checkView(t, m, "hung")
		if v.State != StateFailing || !strings.Contains(v.Message, "previous run stuck for") {
			t.Fatalf("while stuck: %s %q; want failing, previous run stuck", v.State, v.Message)
		}
		if st := m.Status(); st != StatusUnhealthy {
			t.Errorf("status with a hung critical check = %s, want unhealthy", st)
		}
		advance(time.Minute)
		if got := b.calls.Load(); got != 1 {
			t.Fatalf("checker started %d times while its first run was stuck, want 1", got)
		}

		b.free()
		synctest.Wait()
		advance(10 * time.Second)
		if got, v := b.calls.Load(), checkView(t, m, "hung"); got != 2 || v.State != StatePassing {
			t.Fatalf("after the stuck run returned: %d calls, %s; want a new run that passes", got, v.State)
		}
		if got := testutil.ToFloat64(m.metrics.checksTotal.WithLabelValues("hung", "timeout")); got < 3 {
			t.Errorf("checks_total{result=timeout} = %v, want the abandoned run and the stuck retries", got)
		}
	})
}

func TestStalledSchedulerCannotLeavePassingResultStanding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Critical: true,
			Interval: 5 * time.Second, Timeout: time.Second, Checker: newToggle(true).check})
		start(t, m)
		defer m.Stop()
		synctest.Wait()
		m.StallFor(time.Hour)
		advance(10 * time.Second)
		if st := m.Status(); st != StatusHealthy {
			t.Fatalf("10s into the stall (limit 2x5s+1s): %s, want still healthy", st)
		}
		advance(1250 * time.Millisecond)
		snap := m.Snapshot()
		v := snap.Checks["p2p-connectivity"]
		if !v.Stale || v.Healthy || v.State != StateFailing || snap.Status != StatusUnhealthy {
			t.Fatalf("past 2 x interval + timeout: status %s, check %+v; want stale, failing, unhealthy", snap.Status, v)
		}
		if rec, _ := get(t, m.Handler(), "/health"); rec.Code != 503 {
			t.Errorf("/health = %d, want 503", rec.Code)
		}
		m.StallFor(0)
		synctest.Wait()
		if v := checkView(t, m, "p2p-connectivity"); v.Stale || m.Status() != StatusHealthy {
			t.Fatalf("after the stall: stale=%v status %s, want fresh and healthy", v.Stale, m.Status())
		}
	})
}

func TestHungCheckerCannotLeavePassingResultStanding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		b := newBlocker()
		var calls int
		checker := func(ctx context.Context) Result {
			calls++
			if calls == 1 {
				return Result{Healthy: true, Message: "fine"}
			}
			return b.check(ctx) // from the second run on: hangs, ignoring ctx
		}
		mustRegister(t, m, Check{Name: "pubsub-roundtrip", Component: "pubsub", Critical: true,
			Interval: 5 * time.Second, Timeout: time.Second, Checker: checker})
		start(t, m)
		defer m.Stop()
		defer b.free()
		synctest.Wait()
		if st := m.Status(); st != StatusHealthy {
			t.Fatalf("first run: %s, want healthy", st)
		}
		advance(5 * time.Second) // the second run hangs
		advance(time.Second + abandonGrace + time.Second)
		snap := m.Snapshot()
		if v := snap.Checks["pubsub-roundtrip"]; v.Healthy || v.State != StateFailing || snap.Status != StatusUnhealthy {
			t.Fatalf("2s after the checker hung: status %s, check %+v; want failing, unhealthy", snap.Status, v)
		}
	})
}

func TestStallDetectorDrivesLiveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		start(t, m)
		defer m.Stop()
		h := m.Handler()
		synctest.Wait()
		if rec, body := get(t, h, "/health/live"); rec.Code != 200 || body["live"] != true {
			t.Fatalf("/health/live = %d %v, want 200 live", rec.Code, body)
		}
		m.StallFor(time.Minute)
		advance(750 * time.Millisecond) // exactly 3 periods: not yet
		if rec, _ := get(t, h, "/health/live"); rec.Code != 200 {
			t.Fatalf("after 3 tick periods: %d, want 200", rec.Code)
		}
		advance(10 * time.Millisecond)
		rec, body := get(t, h, "/health/live")
		if rec.Code != 503 || body["live"] != false || !strings.Contains(body["message"].(string), "scheduler stalled") {
			t.Fatalf("stalled: %d %v, want 503 with the stall", rec.Code, body)
		}
		if age := m.LastTickAge(); age != 760*time.Millisecond {
			t.Errorf("LastTickAge = %s, want 760ms", age)
		}
		m.StallFor(0)
		synctest.Wait()
		if rec, _ := get(t, h, "/health/live"); rec.Code != 200 {
			t.Fatalf("after release: %d, want 200", rec.Code)
		}
	})
}

func TestLocalStallFailureIsRecordedButNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The awareness' run-queue sampler reads a wait the test grows: while
		// starving, this process's threads waited for a CPU half the time.
		var starving atomic.Bool
		var wait time.Duration
		last := time.Now()
		aw, err := awareness.New(awareness.Config{RunQueueWait: func() (time.Duration, bool) {
			now := time.Now()
			if starving.Load() {
				wait += now.Sub(last) / 2
			}
			last = now
			return wait, true
		}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := aw.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer aw.Stop()
		m, _ := newManagerAware(t, testConfig(), aw)
		proceed := make(chan struct{})
		var calls int
		checker := func(context.Context) Result {
			calls++
			if calls == 1 {
				return Result{Healthy: true}
			}
			<-proceed
			return Result{Message: "no ack from any responder"}
		}
		mustRegister(t, m, Check{Name: "pubsub-roundtrip", Component: "pubsub", Critical: true,
			Interval: 10 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 1, Checker: checker})
		start(t, m)
		defer m.Stop()
		advance(10 * time.Second) // the second run starts and waits
		starving.Store(true)
		advance(2 * time.Second) // this process is starved while the probe runs
		close(proceed)
		synctest.Wait()
		v := checkView(t, m, "pubsub-roundtrip")
		if !v.LocalStall || v.Message != "no ack from any responder (local stall)" {
			t.Fatalf("failure during a stall: %+v; want it marked local stall", v)
		}
		if v.State != StatePassing || v.ConsecutiveFailures != 0 || m.Status() != StatusHealthy {
			t.Fatalf("failure during a stall counted: state %s, %d failures, status %s", v.State, v.ConsecutiveFailures, m.Status())
		}
		if got := testutil.ToFloat64(m.metrics.checksTotal.WithLabelValues("pubsub-roundtrip", "local_stall")); got != 1 {
			t.Errorf("checks_total{result=local_stall} = %v, want 1", got)
		}
		if h := m.Snapshot().History("pubsub-roundtrip"); len(h) != 2 || !h[1].LocalStall {
			t.Errorf("history = %+v, want the local-stall sample recorded", h)
		}

		// Starvation over: the retries back off (500 ms, 1 s, 2 s) while it
		// may still be going on (two samples), then the same failure counts.
		starving.Store(false)
		advance(4 * time.Second)
		if v := checkView(t, m, "pubsub-roundtrip"); v.LocalStall || v.State != StateFailing {
			t.Fatalf("the same failure without a stall: local_stall=%v state %s, want counted and failing", v.LocalStall, v.State)
		}
	})
}

func TestJitterSpreadsRunsWithinTheFraction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Jitter = 0.1
		m, _ := newManager(t, cfg)
		var runs []time.Time // only the checker goroutine appends; read after Stop
		checker := func(context.Context) Result {
			runs = append(runs, time.Now())
			return Result{Healthy: true}
		}
		mustRegister(t, m, Check{Name: "c", Component: "p2p", Interval: 10 * time.Second, Timeout: time.Second, Checker: checker})
		start(t, m)
		advance(300 * time.Second)
		m.Stop()
		gaps := map[time.Duration]bool{}
		for i := 1; i < len(runs); i++ {
			gap := runs[i].Sub(runs[i-1])
			if gap < 9*time.Second || gap > 11*time.Second {
				t.Errorf("gap between runs %d and %d = %s, want within 10s +-10%%", i-1, i, gap)
			}
			gaps[gap] = true
		}
		if len(runs) < 27 || len(gaps) < 10 {
			t.Errorf("%d runs with %d distinct gaps in 300s: want about 30 runs, spread", len(runs), len(gaps))
		}
	})
}

func TestStopDoesNotWaitForAStuckChecker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		b := newBlocker()
		mustRegister(t, m, Check{Name: "hung", Component: "dht", Interval: time.Minute, Timeout: 30 * time.Second, Checker: b.check})
		start(t, m)
		<-b.entered
		began := time.Now()
		m.Stop()
		if waited := time.Since(began); waited != abandonGrace {
			t.Errorf("Stop waited %s for a checker that ignores its context, want the %s grace only", waited, abandonGrace)
		}
		m.Stop() // idempotent
		if err := m.Start(t.Context()); err == nil {
			t.Error("Start after Stop succeeded")
		}
		b.free()
	})
}

func TestCheckRegisteredAfterStartRunsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		start(t, m)
		defer m.Stop()
		advance(time.Minute)
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "late", Component: "custom", Checker: tg.check})
		synctest.Wait()
		if tg.calls.Load() != 1 || checkView(t, m, "late").State != StatePassing {
			t.Fatalf("late check: %d calls, state %s", tg.calls.Load(), checkView(t, m, "late").State)
		}
	})
}

// A check that fails before it has ever passed, within the startup grace, is
// only "not up yet": its failures are recorded but neither confirm a failure
// nor lower the score, and the node stays starting. Once it has passed,
// every failure counts even within the grace.
func TestWarmupFailuresWithinGraceAreNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, graceConfig())
		tg := newToggle(false)
		mustRegister(t, m, Check{Name: "pubsub-roundtrip", Component: "pubsub", Critical: true, Interval: 10 * time.Second,
			Timeout: time.Second, Checker: tg.check})
		start(t, m)
		defer m.Stop()
		advance(5 * time.Second) // ten failed attempts, 500 ms apart
		snap := m.Snapshot()
		v := snap.Checks["pubsub-roundtrip"]
		if snap.Status != StatusStarting || v.State != StateUnknown || v.ConsecutiveFailures != 0 {
			t.Fatalf("warm-up failures counted: status %s, state %s, %d consecutive failures", snap.Status, v.State, v.ConsecutiveFailures)
		}
		if !strings.Contains(v.Message, "not counted") {
			t.Errorf("message %q does not say the failure was not counted", v.Message)
		}
		tg.set(true, "")
		advance(time.Second)
		if st := m.Status(); st != StatusHealthy || m.Snapshot().Score != 1 {
			t.Fatalf("after the first pass: %s score %v, want healthy 1 (warm-up failures cost nothing)", st, m.Snapshot().Score)
		}
		tg.set(false, "broken")
		advance(20 * time.Second) // still within the grace, but it has passed once
		if v := m.Snapshot().Checks["pubsub-roundtrip"]; v.State != StateFailing {
			t.Fatalf("a check that passed once and then fails, within the grace: %s, want failing", v.State)
		}
	})
}

// The results other checks return while the node is unhealthy are the
// outage's too: a DHT probe that passes slowly while the node is cut off
// (it answers alone, after its timeouts) does not keep the node degraded,
// "checks slow", once the critical check passes again. Before, a healed
// zone of a netns mesh stayed degraded for the minute the window took to
// forget them (make bench, section 8: 58 to 60 s after the heal).
func TestSlowResultsDuringAnOutageAreNotHeldAgainstTheNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		pubsub, dht := newToggle(true), newToggle(true)
		mustRegister(t, m, Check{Name: "pubsub-roundtrip", Component: "pubsub", Critical: true,
			Interval: time.Second, Timeout: 500 * time.Millisecond, Checker: pubsub.check})
		mustRegister(t, m, Check{Name: "dht-integrity", Component: "dht", Interval: time.Second,
			Timeout: 500 * time.Millisecond, LatencySLO: 100 * time.Millisecond, Checker: dht.check})
		start(t, m)
		defer m.Stop()
		advance(5 * time.Second)
		pubsub.set(false, "no ack")
		advance(4 * time.Second) // confirmed: unhealthy
		dht.latency.Store(int64(400 * time.Millisecond))
		advance(20 * time.Second)
		if st := m.Status(); st != StatusUnhealthy {
			t.Fatalf("during the outage: %s, want unhealthy", st)
		}
		pubsub.set(true, "")
		dht.latency.Store(0)
		advance(1500 * time.Millisecond)
		if snap := m.Snapshot(); snap.Status != StatusHealthy {
			t.Fatalf("every check passing again, at speed: %s %q, want healthy", snap.Status, snap.Message)
		}
	})
}

// A run that started while the node was unhealthy and returns, slowly,
// after the other checks pass again measured the outage too: the healed
// node is healthy at once, not degraded "checks slow" for the minute the
// window takes to forget it (make bench, section 8: one healed zone node
// degraded until 54.8 s after the heal).
func TestASlowRunThatOutlastsTheOutageIsNotHeldAgainstTheNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		pubsub := newToggle(true)
		var slow atomic.Bool
		release := make(chan struct{})
		mustRegister(t, m, Check{Name: "pubsub-roundtrip", Component: "pubsub", Critical: true,
			Interval: time.Second, Timeout: 500 * time.Millisecond, Checker: pubsub.check})
		mustRegister(t, m, Check{Name: "dht-integrity", Component: "dht", Interval: 10 * time.Second,
			Timeout: 10 * time.Second, LatencySLO: 100 * time.Millisecond,
			Checker: func(ctx context.Context) Result {
				if !slow.Load() {
					return Result{Healthy: true, Latency: 10 * time.Millisecond}
				}
				start := time.Now()
				select {
				case <-release:
				case <-ctx.Done():
				}
				return Result{Healthy: true, Latency: time.Since(start)}
			}})
		start(t, m)
		defer m.Stop()
		advance(6 * time.Second)
		pubsub.set(false, "no ack")
		slow.Store(true)
		advance(8 * time.Second) // confirmed: unhealthy; a DHT run under way
		if st := m.Status(); st != StatusUnhealthy {
			t.Fatalf("during the outage: %s, want unhealthy", st)
		}
		pubsub.set(true, "")
		advance(1500 * time.Millisecond)
		slow.Store(false)
		close(release) // the DHT run started in the outage returns, slow
		advance(500 * time.Millisecond)
		if snap := m.Snapshot(); snap.Status != StatusHealthy {
			t.Fatalf("every check passing again: %s %q, want healthy", snap.Status, snap.Message)
		}
	})
}

// A node whose checks all pass again is healthy again within a run, however
// long its outage lasted: samples taken while a check was confirmed failing
// leave its success rate when it recovers, and the outage never latched the
// score's hysteresis. Failures too scattered to confirm still cost it.
func TestRecoveryFromAnOutageIsNotHeldAgainstTheNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "pubsub-roundtrip", Component: "pubsub", Critical: true,
			Interval: time.Second, Timeout: 500 * time.Millisecond, Checker: tg.check})
		start(t, m)
		defer m.Stop()
		advance(5 * time.Second)
		tg.set(false, "no ack")
		advance(30 * time.Second) // a long outage: 3 confirming failures, then ~28 more
		if st := m.Status(); st != StatusUnhealthy {
			t.Fatalf("during the outage: %s, want unhealthy", st)
		}
		tg.set(true, "")
		advance(1500 * time.Millisecond)
		snap := m.Snapshot()
		if snap.Status != StatusHealthy {
			t.Fatalf("every check passing again: %s %q (score %.3f), want healthy", snap.Status, snap.Message, snap.Score)
		}
		if v := snap.Checks["pubsub-roundtrip"].Score; v >= 1 || v < 0.8 {
			t.Errorf("check score %v: the 3 confirming failures should cost it, the outage samples not", v)
		}
	})
}
