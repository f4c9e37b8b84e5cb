package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/goleak"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/election"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

var errInjected = errors.New("injected build failure")

// failAt makes the build fail once T's constructor has returned: fx
// decorates a value right after building it, so whatever the constructor
// opened exists when the build fails.
func failAt[T any]() fx.Option {
	return fx.Decorate(func(T) (T, error) {
		var zero T
		return zero, errInjected
	})
}

// TestFailedBuildLeavesNoHostOrGoroutine fails the node's build at each of
// its constructors in turn, in the order fx reaches them, and once more
// after all of them: fx runs no stop hook of an app that never started, so
// whatever the constructors before the failure opened (a listening libp2p
// host with its DHT and GossipSub, joined topics, listeners' goroutines)
// must be closed by StartApp itself.
func TestFailedBuildLeavesNoHostOrGoroutine(t *testing.T) {
	for _, c := range []struct {
		name string
		fail fx.Option
	}{
		{"libp2p", failAt[*p2p.Node]()},
		{"health config", failAt[health.Config]()},
		{"health", failAt[*health.Manager]()},
		{"mesh", failAt[*Mesh]()},
		{"faults", failAt[*Faults]()},
		{"election", failAt[*election.Election]()},
		{"http", failAt[*HTTPServer]()},
		{"after every constructor", fx.Invoke(func(Node) error { return errInjected })},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			err := startLoopbackNode(t, "127.0.0.1:0", c.fail)
			if !errors.Is(err, errInjected) {
				t.Fatalf("StartApp: %v, want the injected build failure", err)
			}
			verifyNoLeak(t, before)
		})
	}
}

// TestFailedStartLeavesNoGoroutine fails the start at the HTTP server
// (its address is taken): fx stops libp2p, which had started, and
// StartApp closes the parts after it, whose listeners run from their
// construction.
func TestFailedStartLeavesNoGoroutine(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	before := goleak.IgnoreCurrent()
	if err := startLoopbackNode(t, taken.Addr().String()); err == nil {
		t.Fatal("the node started on a taken HTTP address")
	}
	verifyNoLeak(t, before)
}

// startLoopbackNode builds and starts a node as the process does, on a
// real libp2p host on loopback with mDNS off, and returns StartApp's error.
func startLoopbackNode(t *testing.T, httpAddr string, opts ...fx.Option) error {
	t.Helper()
	cfg := Default()
	cfg.P2P.DataDir = t.TempDir()
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.P2P.MDNS = false
	cfg.HTTP = httpAddr
	cfg.EnableFaultInjection = true // so that the faults have a constructor too
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	reg := NewRegistry()
	sm := shutdown.New(cfg.ShutdownConfig(), reg, log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := StartApp(ctx, sm, append([]fx.Option{Options(cfg, Env{Registry: reg}, sm, log)}, opts...)...)
	return err
}

func verifyNoLeak(t *testing.T, before goleak.Option) {
	t.Helper()
	goleak.VerifyNone(t, before,
		// Process-wide: started by the first host, kept for the next.
		goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreAnyFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-flow-metrics.(*sweeper).run"),
	)
}
