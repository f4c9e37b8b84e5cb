package shutdown

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

// The node's lifecycle is fx's: components start in the order they were
// appended and the manager's shutdown phase stops them, through app.Stop,
// in reverse, each as a Step.
func TestShutdownStopsTheFxAppsComponentsInReverseStartOrder(t *testing.T) {
	f := newFixture(t, Config{})
	var rec recorder
	app := fxtest.New(t, fx.NopLogger, fx.Invoke(func(lc fx.Lifecycle) {
		for _, name := range []string{"host", "http", "health", "election", "probes"} {
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error { return rec.step("start " + name)(context.Background()) },
				OnStop:  f.m.Step(name, 0, rec.step("stop "+name)),
			})
		}
	}))
	f.m.StopWith(app.Stop)
	f.m.AddHook(PhasePreShutdown, "status-stopping", rec.step("status-stopping"))
	app.RequireStart()
	f.m.Shutdown("test", ExitOK)
	waitDone(t, f.m)

	want := []string{"start host", "start http", "start health", "start election", "start probes",
		"status-stopping", "stop probes", "stop election", "stop health", "stop http", "stop host"}
	if got := rec.got(); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if got, want := names(f.m.Report()), []string{"hook:status-stopping", "component:probes", "component:election",
		"component:health", "component:http", "component:host"}; !slices.Equal(got, want) {
		t.Fatalf("report %v, want %v", got, want)
	}
	app.RequireStop() // fx has nothing left to stop
}

func TestHooksRunPerPhaseInOrderAddedAroundComponents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		var rec recorder
		// Added out of phase order on purpose: phases, not calls, decide.
		f.m.AddHook(PhaseCleanup, "cleanup-1", rec.step("cleanup-1"))
		f.m.AddHook(PhasePostShutdown, "post-1", rec.step("post-1"))
		f.component("comp-b", 0, rec.step("comp-b"))
		f.m.AddHook(PhasePreShutdown, "status-stopping", rec.step("status-stopping"))
		f.m.AddHook(PhasePreShutdown, "resign", rec.step("resign"))
		f.m.AddHook(PhasePreShutdown, "goodbye", rec.step("goodbye"))
		f.m.AddHook(PhaseShutdown, "shutdown-hook", rec.step("shutdown-hook"))
		f.component("comp-a", 0, rec.step("comp-a"))
		f.m.AddHook(PhaseCleanup, "cleanup-2", rec.step("cleanup-2"))

		f.m.Shutdown("test", ExitOK)
		<-f.m.Done()

		want := []string{"status-stopping", "resign", "goodbye", "shutdown-hook", "comp-a", "comp-b", "post-1", "cleanup-1", "cleanup-2"}
		if got := rec.got(); !slices.Equal(got, want) {
			t.Fatalf("run order %v, want %v", got, want)
		}
		rep := f.m.Report()
		if len(rep) != len(want) {
			t.Fatalf("report has %d steps, want %d: %v", len(rep), len(want), names(rep))
		}
		for _, r := range rep {
			if !r.OK() {
				t.Errorf("step %s not ok: %v", r.Name, r)
			}
		}
	})
}

func TestStopFunctionIsCalledAtMostOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		var calls int
		stop := f.m.Step("http", 0, func(context.Context) error { calls++; return nil })
		// The lifecycle calls it, and so does a second path by mistake.
		f.lc.stops = append(f.lc.stops, stop, stop)

		f.m.Shutdown("signal: SIGTERM", ExitOK)
		f.m.Shutdown("again", ExitOK)
		f.m.HandleCritical("critical check x: down")
		<-f.m.Done()
		f.m.Shutdown("after done", ExitFatal)
		_ = stop(context.Background())
		synctest.Wait()

		if calls != 1 {
			t.Fatalf("stop calls = %d, want 1", calls)
		}
		if got := names(f.m.Report()); !slices.Equal(got, []string{"component:http"}) {
			t.Errorf("report %v, want the one stop", got)
		}
	})
}

func TestLateRegistrationIsReportedAndNeverRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		release := make(chan struct{})
		var lateCalled bool
		f.m.AddHook(PhasePostShutdown, "block", func(context.Context) error { <-release; return nil })
		f.m.Shutdown("test", ExitOK)
		synctest.Wait() // the post-shutdown hook is running: components are taken

		f.m.StopWith(func(context.Context) error { lateCalled = true; return nil })
		f.m.AddHook(PhasePreShutdown, "late-hook", func(context.Context) error { lateCalled = true; return nil })
		f.m.AddHook(PhaseCleanup, "in-time", func(context.Context) error { return nil })
		close(release)
		<-f.m.Done()

		if lateCalled {
			t.Fatal("a step registered after its turn was run")
		}
		var skipped []string
		for _, r := range f.m.Report() {
			if r.Skipped {
				skipped = append(skipped, r.Kind+":"+r.Name)
			}
		}
		if want := []string{"component:components", "hook:late-hook"}; !slices.Equal(skipped, want) {
			t.Fatalf("skipped %v, want %v", skipped, want)
		}
	})
}
