package shutdown

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// Real signals to our own process: safe because HandleSignals has installed
// its handler by the time it returns. Not in a synctest bubble, since the
// signal package delivers from outside any bubble.
func TestSignalShutsDownGracefullyAndASecondOneForcesExit(t *testing.T) {
	exited := make(chan int, 1)
	f := newFixture(t, Config{Exit: func(code int) { exited <- code }})

	stopping := make(chan struct{})
	release := make(chan struct{})
	f.component("slow", time.Minute, func(context.Context) error {
		close(stopping)
		<-release
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.m.HandleSignals(ctx)

	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopping:
	case <-time.After(time.Minute):
		t.Fatal("first signal did not start the shutdown")
	}
	select {
	case code := <-exited:
		t.Fatalf("first signal exited at once with %d", code)
	default:
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != ExitForced {
			t.Errorf("second signal exited with %d, want %d", code, ExitForced)
		}
	case <-time.After(time.Minute):
		t.Fatal("second signal did not force an exit")
	}

	close(release)
	code, reason := f.m.Wait()
	if code != ExitOK || reason != "signal: SIGINT" {
		t.Errorf("Wait() = %d %q, want %d %q", code, reason, ExitOK, "signal: SIGINT")
	}
}

func TestSignalAfterACriticalShutdownKeepsItsExitCode(t *testing.T) {
	exited := make(chan int, 1)
	f := newFixture(t, Config{Exit: func(code int) { exited <- code }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.m.HandleSignals(ctx)

	// Our own observer: we wait for the signal to be delivered before the
	// test ends, and while it is registered a late delivery cannot fall
	// through to the default action and kill the test binary.
	seen := make(chan os.Signal, 1)
	signal.Notify(seen, syscall.SIGTERM)
	defer signal.Stop(seen)

	f.m.HandleCritical("critical check p2p-connectivity: 0 peers")
	// A supervisor's SIGTERM during our own shutdown is a first signal: it
	// must neither force an exit nor change the reason.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-seen
	waitDone(t, f.m)
	if code, _ := f.m.Wait(); code != ExitCritical {
		t.Errorf("exit code %d, want %d", code, ExitCritical)
	}
	select {
	case code := <-exited:
		t.Errorf("one signal forced exit %d", code)
	default:
	}
}

func TestSIGHUPShutsDownGracefullyLikeSIGTERM(t *testing.T) {
	f := newFixture(t, Config{Exit: func(code int) { t.Errorf("exit(%d) on one signal", code) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.m.HandleSignals(ctx)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitDone(t, f.m)
	if code, reason := f.m.Wait(); code != ExitOK || reason != "signal: SIGHUP" {
		t.Errorf("Wait() = %d %q, want %d %q", code, reason, ExitOK, "signal: SIGHUP")
	}
}

func TestASignalCaughtBeforeTheManagerExistedIsHandled(t *testing.T) {
	// main catches signals first thing; one that arrives while the node is
	// still being built waits in the channel, and stops the node gracefully
	// once the manager takes the channel over.
	ch := CatchSignals()
	seen := make(chan os.Signal, 1)
	signal.Notify(seen, syscall.SIGTERM)
	defer signal.Stop(seen)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-seen // delivered, and so already waiting in ch

	f := newFixture(t, Config{Exit: func(code int) { t.Errorf("exit(%d) on one signal", code) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.m.HandleSignalsFrom(ctx, ch)
	waitDone(t, f.m)
	if code, reason := f.m.Wait(); code != ExitOK || reason != "signal: SIGTERM" {
		t.Errorf("Wait() = %d %q, want %d %q", code, reason, ExitOK, "signal: SIGTERM")
	}
}
