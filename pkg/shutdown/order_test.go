package shutdown

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
)

func TestComponentsStopInPriorityOrderTiesInRegistrationOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		var rec recorder
		for _, c := range []struct {
			name string
			prio int
		}{{"host", 90}, {"http", 30}, {"probes", 20}, {"dht", 60}, {"pubsub", 60}, {"election", 10}} {
			f.m.Register(Component{Name: c.name, Priority: c.prio, Stop: rec.step(c.name)})
		}
		f.m.Shutdown("test", ExitOK)
		<-f.m.Done()

		want := []string{"election", "probes", "http", "dht", "pubsub", "host"}
		if got := rec.got(); !slices.Equal(got, want) {
			t.Fatalf("stop order %v, want %v", got, want)
		}
	})
}

func TestHooksRunPerPhaseInOrderAddedAroundComponents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		var rec recorder
		// Added out of phase order on purpose: phases, not calls, decide.
		f.m.AddHook(PhaseCleanup, "cleanup-1", rec.step("cleanup-1"))
		f.m.AddHook(PhasePostShutdown, "post-1", rec.step("post-1"))
		f.m.Register(Component{Name: "comp-b", Priority: 2, Stop: rec.step("comp-b")})
		f.m.AddHook(PhasePreShutdown, "status-stopping", rec.step("status-stopping"))
		f.m.AddHook(PhasePreShutdown, "resign", rec.step("resign"))
		f.m.AddHook(PhasePreShutdown, "goodbye", rec.step("goodbye"))
		f.m.AddHook(PhaseShutdown, "shutdown-hook", rec.step("shutdown-hook"))
		f.m.Register(Component{Name: "comp-a", Priority: 1, Stop: rec.step("comp-a")})
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
		var calls, dupCalls int
		f.m.Register(Component{Name: "http", Stop: func(context.Context) error { calls++; return nil }})
		// Same name again, as two wiring paths registering one server would.
		f.m.Register(Component{Name: "http", Stop: func(context.Context) error { dupCalls++; return nil }})

		f.m.Shutdown("signal: SIGTERM", ExitOK)
		f.m.Shutdown("again", ExitOK)
		f.m.HandleCritical("critical check x: down")
		<-f.m.Done()
		f.m.Shutdown("after done", ExitFatal)
		synctest.Wait()

		if calls != 1 || dupCalls != 0 {
			t.Fatalf("stop calls = %d, duplicate's = %d; want 1 and 0", calls, dupCalls)
		}
		if !f.log.Contains("registered twice") {
			t.Errorf("duplicate registration not logged:\n%s", f.log)
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

		f.m.Register(Component{Name: "late", Stop: func(context.Context) error { lateCalled = true; return nil }})
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
		if want := []string{"component:late", "hook:late-hook"}; !slices.Equal(skipped, want) {
			t.Fatalf("skipped %v, want %v", skipped, want)
		}
	})
}
