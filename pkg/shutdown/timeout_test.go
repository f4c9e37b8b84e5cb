package shutdown

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestOverrunningComponentIsSkippedReportedAndTheRestStillStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{Timeout: 30 * time.Second})
		var rec recorder
		// In start order: they stop in reverse.
		f.component("c", 0, rec.step("c"))
		f.component("stuck", 2*time.Second, ignoresContext(t))
		f.component("a", 0, rec.step("a"))
		f.m.AddHook(PhaseCleanup, "cleanup", rec.step("cleanup"))

		begin := time.Now()
		f.m.Shutdown("test", ExitOK)
		<-f.m.Done()

		if got := time.Since(begin); got != 2*time.Second {
			t.Errorf("shutdown took %v, want exactly the stuck component's 2s", got)
		}
		if got, want := rec.got(), []string{"a", "c", "cleanup"}; !slices.Equal(got, want) {
			t.Errorf("ran %v, want %v", got, want)
		}
		r := f.m.Report()[1]
		if r.Name != "stuck" || !r.TimedOut || r.CutShort || r.Duration != 2*time.Second {
			t.Fatalf("stuck component's report = %+v", r)
		}
		const msg = "component stuck overran its 2s timeout, skipped"
		if r.String() != msg {
			t.Errorf("report line %q, want %q", r.String(), msg)
		}
		if !f.log.Contains(msg) {
			t.Errorf("log lacks %q:\n%s", msg, f.log)
		}
	})
}

func TestTotalTimeoutBoundsTheWholeShutdownAndSkipsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{Timeout: 3 * time.Second, HookTimeout: time.Second})
		var rec recorder
		f.m.AddHook(PhasePreShutdown, "slow-hook", ignoresContext(t)) // 1s
		// In start order: they stop in reverse.
		f.component("c", 0, rec.step("c"))
		f.component("b", 5*time.Second, ignoresContext(t))
		f.component("a", time.Second, ignoresContext(t))
		f.m.AddHook(PhaseCleanup, "cleanup", rec.step("cleanup"))

		begin := time.Now()
		f.m.Shutdown("test", ExitOK)
		<-f.m.Done()

		if got := time.Since(begin); got != 3*time.Second {
			t.Errorf("shutdown took %v, want the 3s total", got)
		}
		if got := rec.got(); len(got) != 0 {
			t.Errorf("steps after the total timeout ran: %v", got)
		}
		type outcome struct {
			name     string
			timedOut bool
			cutShort bool
			skipped  bool
			dur      time.Duration
		}
		var got []outcome
		for _, r := range f.m.Report() {
			got = append(got, outcome{r.Name, r.TimedOut, r.CutShort, r.Skipped, r.Duration})
		}
		want := []outcome{
			{"slow-hook", true, false, false, time.Second},
			{"a", true, false, false, time.Second},
			{"b", true, true, false, time.Second}, // its 5s cut to the 1s left
			{"c", false, false, true, 0},
			{"cleanup", false, false, true, 0},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("report\n got %+v\nwant %+v", got, want)
		}
		for _, r := range f.m.Report()[3:] {
			if !errors.Is(r.Err, ErrTotalTimeout) {
				t.Errorf("%s skipped with %v, want ErrTotalTimeout", r.Name, r.Err)
			}
		}
		if !f.log.Contains("component b overran the 1s left of the shutdown timeout, skipped") {
			t.Errorf("log does not say b was cut short by the total:\n%s", f.log)
		}
	})
}

func TestStepContextEndsAtTheSmallerOfOwnAndRemainingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{Timeout: 10 * time.Second})
		var (
			mu        sync.Mutex
			deadlines []time.Duration
		)
		begin := time.Now()
		stop := func(ctx context.Context) error {
			d, _ := ctx.Deadline()
			mu.Lock()
			deadlines = append(deadlines, d.Sub(begin))
			mu.Unlock()
			<-ctx.Done() // a well-behaved stop that needs all its time
			return ctx.Err()
		}
		// In start order: they stop in reverse.
		f.component("c", 4*time.Second, stop)
		f.component("b", 4*time.Second, stop)
		f.component("a", 4*time.Second, stop)
		f.m.Shutdown("test", ExitOK)
		<-f.m.Done()

		mu.Lock()
		defer mu.Unlock()
		if want := []time.Duration{4 * time.Second, 8 * time.Second, 10 * time.Second}; !slices.Equal(deadlines, want) {
			t.Fatalf("deadlines %v, want %v", deadlines, want)
		}
		for _, r := range f.m.Report() {
			if !r.TimedOut || !errors.Is(r.Err, context.DeadlineExceeded) {
				t.Errorf("%s: timed out %v, err %v; want a timeout", r.Name, r.TimedOut, r.Err)
			}
		}
	})
}

func TestFailingAndPanickingStopsAreReportedAndShutdownGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		var rec recorder
		boom := errors.New("close listener: boom")
		// In start order: they stop in reverse.
		f.component("after", 0, rec.step("after"))
		f.component("panics", 0, func(context.Context) error { panic("nil map") })
		f.component("fails", 0, func(context.Context) error { return boom })
		f.m.Shutdown("test", ExitCritical)
		code, _ := f.m.Wait()

		if code != ExitCritical {
			t.Errorf("exit code %d, want %d: a failing stop must not change it", code, ExitCritical)
		}
		if got := rec.got(); !slices.Equal(got, []string{"after"}) {
			t.Errorf("ran %v after failures, want [after]", got)
		}
		rep := f.m.Report()
		if !errors.Is(rep[0].Err, boom) || rep[0].TimedOut {
			t.Errorf("failing stop reported as %+v", rep[0])
		}
		if rep[1].Err == nil || rep[1].Err.Error() != "panic: nil map" {
			t.Errorf("panicking stop reported as %+v", rep[1])
		}
	})
}
